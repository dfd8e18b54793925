package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// prioritySource declares the kind's four priority consumers (dropping its
// consumer from before priorities) and its doorbell, and returns the
// source that feeds its pool. The doorbell stops with the node.
func (n *Node) prioritySource(ctx context.Context, cfg NodeConfig, kind actors.Kind, workers int, self *builtinAgent) (*prioritySource, error) {
	cons, err := cfg.Conn.EnsurePriorityConsumers(ctx, transport.ConsumerOptions{
		Kind:       kind.Name,
		TaskTypes:  kind.TaskTypes,
		AckWait:    orDefault(cfg.AckWait, 30*time.Second),
		MaxDeliver: cfg.MaxDeliver,
		PoolSize:   workers,
	})
	if err != nil {
		return nil, err
	}
	bell, err := cfg.Conn.SubscribeDoorbell(kind.TaskTypes)
	if err != nil {
		return nil, err
	}
	n.stops = append(n.stops, bell.Stop)
	lanes, err := n.routedLanes(ctx, cfg, kind, workers, self, cons, bell)
	if err != nil {
		return nil, err
	}
	return newPrioritySource(lanes, bell, orDefault(cfg.FetchWait, transport.DefaultFetchWait)), nil
}

// startControl starts what every node runs beside its pools: the cancel
// subscription, which cancels the context of a task running here, and the
// dead-letter watcher. Both stop with the node, after its pools.
func (n *Node) startControl(ctx context.Context, cfg NodeConfig, rt *runtime) error {
	stopCancels, err := cfg.Conn.SubscribeCancels(rt.cancels.cancel)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	n.stops = append(n.stops, stopCancels)

	w := &DeadLetterWatcher{Conn: cfg.Conn, Tasks: cfg.Tasks, Events: cfg.Conn, Logger: cfg.Logger}
	n.runUntilStop(ctx, "dead-letter watcher", w.Run)
	if rt.startDelay > 0 {
		view := transport.NewCancelView(cfg.Conn)
		n.runUntilStop(ctx, "cancel list watch", view.Run)
		rt.cancelList = view
		// Until the view has loaded, every start is recorded first; a
		// node that begins with a backlog should not, so wait a little.
		select {
		case <-view.Loaded():
		case <-time.After(cancelListWait):
			n.log.WarnContext(ctx, "cancel list not loaded yet; recording every start first until it is", "waited", cancelListWait)
		case <-ctx.Done():
		}
	}
	return nil
}

// cancelListWait is how long a starting node waits for its cancel list.
const cancelListWait = 5 * time.Second

// runUntilStop runs run in a goroutine until the node stops, which waits
// for it to return.
func (n *Node) runUntilStop(ctx context.Context, name string, run func(context.Context) error) {
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(rctx); err != nil && rctx.Err() == nil {
			n.log.ErrorContext(rctx, name+" stopped", "error", err)
		}
	}()
	n.stops = append(n.stops, func() { stop(); <-done })
}
