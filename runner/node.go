package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// NodeConfig configures the agent pools of one process.
type NodeConfig struct {
	Conn       *transport.Conn
	Tasks      TaskStore
	Supervisor *supervisor.Supervisor
	Kinds      []actors.Kind
	// Workers is the number of actors per kind (default 4).
	Workers int
	// TaskTimeout bounds one attempt (default 300 s).
	TaskTimeout time.Duration
	// AckWait and MaxDeliver configure each kind's consumer (defaults 30 s, 5).
	AckWait    time.Duration
	MaxDeliver int
	// RetryBase is the exponential base of retry delays (default 2).
	RetryBase float64
	// Backoff and restart budget of the actors.
	Backoff     supervisor.Backoff
	MaxRestarts int
	Window      time.Duration
	Logger      *slog.Logger
}

// Node runs one supervised pool per agent kind, each fed by the kind's
// durable consumer.
type Node struct {
	pools []*supervisor.Pool
	log   *slog.Logger
}

// StartNode registers every kind's task types, ensures its consumer and
// starts its pool. On error the pools already started are stopped.
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.Conn == nil || cfg.Tasks == nil || cfg.Supervisor == nil {
		return nil, errors.New("runner: node needs a connection, a task store and a supervisor")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = 4
	}
	rt := &runtime{
		tasks:       cfg.Tasks,
		events:      cfg.Conn,
		log:         cfg.Logger,
		taskTimeout: orDefault(cfg.TaskTimeout, 300*time.Second),
		ackWait:     orDefault(cfg.AckWait, 30*time.Second),
		retryBase:   cfg.RetryBase,
		now:         time.Now,
	}
	n := &Node{log: cfg.Logger}
	for _, kind := range cfg.Kinds {
		if err := kind.Validate(); err != nil {
			n.Stop(ctx)
			return nil, err
		}
		if err := cfg.Conn.RegisterTaskTypes(ctx, kind.Name, kind.TaskTypes); err != nil {
			n.Stop(ctx)
			return nil, fmt.Errorf("runner: register %s: %w", kind.Name, err)
		}
		cons, err := cfg.Conn.EnsureConsumer(ctx, transport.ConsumerOptions{
			Kind:       kind.Name,
			TaskTypes:  kind.TaskTypes,
			AckWait:    rt.ackWait,
			MaxDeliver: cfg.MaxDeliver,
			PoolSize:   workers,
		})
		if err != nil {
			n.Stop(ctx)
			return nil, fmt.Errorf("runner: consumer for %s: %w", kind.Name, err)
		}
		pool, err := cfg.Supervisor.StartPool(ctx, supervisor.PoolConfig{
			Name:        kind.Name,
			Size:        workers,
			Source:      source{cons},
			NewWorker:   func() supervisor.Worker { return &worker{kind: kind, rt: rt} },
			Backoff:     cfg.Backoff,
			MaxRestarts: cfg.MaxRestarts,
			Window:      cfg.Window,
			Logger:      cfg.Logger.With("kind", kind.Name),
		})
		if err != nil {
			n.Stop(ctx)
			return nil, fmt.Errorf("runner: pool for %s: %w", kind.Name, err)
		}
		n.pools = append(n.pools, pool)
		cfg.Logger.InfoContext(ctx, "agent pool started", "kind", kind.Name, "task_types", kind.TaskTypes, "workers", workers)
	}
	return n, nil
}

// Stop stops taking work and waits, until ctx ends, for in-flight tasks.
func (n *Node) Stop(ctx context.Context) {
	for _, p := range n.pools {
		p.Stop(ctx)
	}
}

// Pools returns the node's pools, one per kind.
func (n *Node) Pools() []*supervisor.Pool { return n.pools }

// source adapts a transport consumer to the supervisor's Source.
type source struct{ c *transport.TaskConsumer }

func (s source) Fetch(ctx context.Context, max int) ([]supervisor.Delivery, error) {
	msgs, err := s.c.Fetch(ctx, max)
	if err != nil {
		return nil, err
	}
	out := make([]supervisor.Delivery, len(msgs))
	for i, m := range msgs {
		out[i] = m
	}
	return out, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
