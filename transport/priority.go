package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// JetStream has no per-message priority. YMERA gets one from subjects: a
// task's priority is the last token of its subject, and each agent kind has
// one durable consumer per priority (agent_<kind>_<priority>, filtered on
// ymera.tasks.<type>.<priority>), so the four never overlap on the work
// queue. Which consumer a free worker takes from is the runtime's choice
// (runner's priority source); this file gives it the consumers, a fetch
// that never waits, and a doorbell to wait on when all four are empty.

// EnsurePriorityConsumers declares the four consumers of opts.Kind, one per
// priority, in actors.Priorities order (critical first). opts.Priority is
// ignored. The kind's consumer from before priorities (agent_<kind>,
// filtered on ymera.tasks.<type>.*) overlaps all four, which a work-queue
// stream refuses, and would keep holding tasks; it is deleted first. Tasks
// it had delivered and not acknowledged return to the stream and are
// delivered again through the new consumers.
func (c *Conn) EnsurePriorityConsumers(ctx context.Context, opts ConsumerOptions) ([]*TaskConsumer, error) {
	if err := c.dropUnprioritizedConsumer(ctx, opts.Kind); err != nil {
		return nil, err
	}
	out := make([]*TaskConsumer, 0, len(actors.Priorities))
	for _, p := range actors.Priorities {
		o := opts
		o.Priority = p
		tc, err := c.EnsureConsumer(ctx, o)
		if err != nil {
			return nil, err
		}
		out = append(out, tc)
	}
	return out, nil
}

// dropUnprioritizedConsumer deletes agent_<kind> if it is the old consumer of
// every priority. A consumer of that name with narrower filters is the
// priority consumer of another kind (kind "x" priority "low" and kind
// "x_low" cannot both exist unprioritized and prioritized at once, but the
// check costs nothing) and is left alone.
func (c *Conn) dropUnprioritizedConsumer(ctx context.Context, kind string) error {
	name, err := ConsumerName(kind)
	if err != nil {
		return err
	}
	cons, err := c.js.Consumer(ctx, StreamTasks, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		return wrap("consumer "+name, err)
	}
	cfg := cons.CachedInfo().Config
	filters := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		filters = append(filters, cfg.FilterSubject)
	}
	for _, f := range filters {
		if !strings.HasSuffix(f, ".*") {
			return nil
		}
	}
	if err := c.js.DeleteConsumer(ctx, StreamTasks, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return wrap("delete consumer "+name, err)
	}
	c.logger.Info("deleted the agent kind's consumer from before priorities", "consumer", name)
	return nil
}

// FetchReady returns up to max tasks that are ready now, without waiting:
// none and a nil error when the consumer has nothing. One round trip.
func (tc *TaskConsumer) FetchReady(ctx context.Context, max int) ([]*TaskDelivery, error) {
	if max <= 0 {
		return nil, fmt.Errorf("%w: fetch of %d tasks", ErrInvalid, max)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	batch, err := tc.cons.FetchNoWait(max)
	if err != nil {
		return nil, wrap("fetch "+tc.name, err)
	}
	return tc.collect(ctx, batch, nil)
}

// Doorbell rings when a task of one of its types is stored in YMERA_TASKS.
// A publisher rings ymera.ring.tasks.<type>.<priority> after the PubAck,
// once per batch and lane (ring.go); a doorbell is a core subscription to
// those. A ring is a hint, not a delivery: it can be lost (core NATS), and
// a publisher outside YMERA may not send it, so a waiter also looks again
// after a while, and several rings while nobody waits collapse into one.
//
// It also counts the rings of each priority (Rung), so that a pool can skip
// a priority it found empty until a task of that priority arrives.
type Doorbell struct {
	subs  []*nats.Subscription
	ch    chan struct{}
	rungs [4]atomic.Uint64 // in actors.Priorities order
}

// SubscribeDoorbell starts a doorbell for taskTypes. Stop it when done.
func (c *Conn) SubscribeDoorbell(taskTypes []string) (*Doorbell, error) {
	d := &Doorbell{ch: make(chan struct{}, 1)}
	for _, tt := range taskTypes {
		f, err := DoorbellFilter(tt)
		if err != nil {
			d.Stop()
			return nil, err
		}
		sub, err := c.nc.Subscribe(f, d.ring)
		if err != nil {
			d.Stop()
			return nil, wrap("doorbell "+f, err)
		}
		d.subs = append(d.subs, sub)
	}
	return d, nil
}

// ring counts a ring on its priority (every priority when the subject names
// none it knows, so that a lane is never skipped wrongly) and wakes a waiter.
func (d *Doorbell) ring(m *nats.Msg) {
	if i := ringPriority(m.Subject); i >= 0 {
		d.rungs[i].Add(1)
	} else {
		for i := range d.rungs {
			d.rungs[i].Add(1)
		}
	}
	select {
	case d.ch <- struct{}{}:
	default: // a ring is already waiting
	}
}

// ringPriority returns the index in actors.Priorities of the priority a
// ring subject (ymera.ring.tasks.<type>.<priority>[.<agent_id>]) names, or
// -1.
func ringPriority(subject string) int {
	rest, ok := strings.CutPrefix(subject, prefixDoorbell)
	if !ok {
		return -1
	}
	_, rest, ok = strings.Cut(rest, ".") // the task type
	if !ok {
		return -1
	}
	p, _, _ := strings.Cut(rest, ".")
	for i, q := range actors.Priorities {
		if string(q) == p {
			return i
		}
	}
	return -1
}

// Rung returns how many rings have come for the priority at index i of
// actors.Priorities. A change between two reads means a task of that
// priority was stored in between.
func (d *Doorbell) Rung(i int) uint64 { return d.rungs[i].Load() }

// Rings returns the channel that receives a value after a task arrived.
func (d *Doorbell) Rings() <-chan struct{} { return d.ch }

// Clear forgets a pending ring, so that the next one is news.
func (d *Doorbell) Clear() {
	select {
	case <-d.ch:
	default:
	}
}

// Stop ends the subscriptions.
func (d *Doorbell) Stop() {
	for _, s := range d.subs {
		_ = s.Unsubscribe()
	}
	d.subs = nil
}
