package transport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// Defaults of ConsumerOptions.
const (
	DefaultAckWait    = 30 * time.Second
	DefaultMaxDeliver = 5
	DefaultFetchWait  = 5 * time.Second
	// minMaxAckPending is the floor of the default MaxAckPending.
	minMaxAckPending = 1024
)

// ConsumerOptions declares the durable consumer of one agent kind.
type ConsumerOptions struct {
	// Kind is the agent kind; the consumer is named agent_<kind> and shared
	// by every node running the kind.
	Kind string

	// TaskTypes are the kind's task types; the consumer receives
	// ymera.tasks.<type>.* for each. On the work-queue stream no two kinds
	// may claim the same type: EnsureConsumer then fails with ErrConflict.
	TaskTypes []string

	// Priority, when set, narrows the consumer to one priority: it is named
	// agent_<kind>_<priority> and receives ymera.tasks.<type>.<priority>.
	// EnsurePriorityConsumers declares all four; see the "Priorities"
	// section of docs/architecture.md.
	Priority actors.Priority

	// AckWait is how long a delivery may go without Ack, Nak, Term or
	// InProgress before the server delivers it again. Default 30 s. A long
	// task calls InProgress more often than this.
	AckWait time.Duration

	// MaxDeliver caps the deliveries of one task. Default 5; JetStream's own
	// default is unlimited, which turns a poison task into an endless loop.
	// The message of a task that runs out stays in the work-queue stream and
	// the server announces it on MaxDeliveriesAdvisorySubject; see
	// Conn.DeadLetter.
	MaxDeliver int

	// BackOff is the ack deadline of each successive delivery, replacing
	// AckWait: the server waits BackOff[n-1] for delivery n (the last value
	// for any later one) before redelivering an unacknowledged task. It
	// applies only to deliveries nobody answered (a crashed or stuck
	// worker), never to Nak, and JetStream forces AckWait to BackOff[0].
	// So BackOff[0] must be a full ack deadline, not a short retry delay,
	// or every running task must call InProgress within BackOff[0].
	//
	// Default: AckWait doubled per delivery (30 s, 1 m, 2 m, 4 m for the
	// defaults), MaxDeliver-1 values, giving a crash-looping task
	// increasing pauses and a slow one increasing room. Retry delays after a
	// failure are the runtime's, through TaskDelivery.Nak(delay). A non-nil
	// empty slice disables BackOff: every delivery then waits AckWait.
	BackOff []time.Duration

	// PoolSize is how many tasks of the kind one node processes at once; it
	// sizes the default MaxAckPending.
	PoolSize int

	// MaxAckPending caps the deliveries awaiting an answer, across all
	// nodes, including tasks waiting for a delayed redelivery after Nak.
	// When it is full the server silently stops delivering, so it must
	// exceed everything in flight plus everything in retry. Fetch only asks
	// for free slots, so a large value costs nothing. Default
	// max(1024, 16*PoolSize).
	MaxAckPending int

	// FetchWait is how long Fetch waits for a first task when none is
	// ready. Default 5 s. Shorter costs idle round trips; Fetch returns on
	// ctx cancellation anyway.
	FetchWait time.Duration
}

func (o ConsumerOptions) withDefaults() ConsumerOptions {
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = DefaultMaxDeliver
	}
	if o.BackOff == nil {
		o.BackOff = defaultBackOff(o.AckWait, o.MaxDeliver)
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = max(minMaxAckPending, 16*o.PoolSize)
	}
	if o.FetchWait <= 0 {
		o.FetchWait = DefaultFetchWait
	}
	return o
}

// defaultBackOff doubles ackWait per delivery, one value per delivery after
// the first, at least one value.
func defaultBackOff(ackWait time.Duration, maxDeliver int) []time.Duration {
	n := max(maxDeliver-1, 1)
	b := make([]time.Duration, n)
	d := ackWait
	for i := range b {
		b[i] = d
		d *= 2
	}
	return b
}

// TaskConsumer pulls the tasks of one agent kind from YMERA_TASKS. It is
// safe for concurrent use; each Fetch is an independent pull request.
type TaskConsumer struct {
	cons      jetstream.Consumer
	name      string
	fetchWait time.Duration
	backOff   []time.Duration // as declared; read-only
	c         *Conn
}

// EnsureConsumer creates the durable pull consumer of opts.Kind on
// YMERA_TASKS, or updates it to opts. It is idempotent, so every node
// running the kind calls it at start; the last writer's options win.
func (c *Conn) EnsureConsumer(ctx context.Context, opts ConsumerOptions) (*TaskConsumer, error) {
	opts = opts.withDefaults()
	cfg, err := consumerConfig(opts)
	if err != nil {
		return nil, err
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, StreamTasks, cfg)
	if err != nil {
		if apiErrorCode(err) == jetstream.ErrorCode(10100) { // JSConsumerWQConsumerNotUniqueErr
			return nil, fmt.Errorf("transport: consumer %s: %w: a task type of %v is already consumed by another agent kind: %w",
				cfg.Durable, ErrConflict, opts.TaskTypes, err)
		}
		return nil, wrap("consumer "+cfg.Durable, err)
	}
	return &TaskConsumer{cons: cons, name: cfg.Durable, fetchWait: opts.FetchWait, backOff: cfg.BackOff, c: c}, nil
}

// consumerConfig validates opts (with defaults applied) and builds the
// JetStream configuration. Filters are sorted and deduplicated, so the same
// kind always declares the same consumer.
func consumerConfig(o ConsumerOptions) (jetstream.ConsumerConfig, error) {
	name, err := ConsumerName(o.Kind)
	if o.Priority != "" {
		name, err = PriorityConsumerName(o.Kind, o.Priority)
	}
	if err != nil {
		return jetstream.ConsumerConfig{}, err
	}
	if len(o.TaskTypes) == 0 {
		return jetstream.ConsumerConfig{}, fmt.Errorf("%w: consumer %s: no task types", ErrInvalid, name)
	}
	filters := make([]string, 0, len(o.TaskTypes))
	for _, tt := range o.TaskTypes {
		f, err := TaskFilter(tt)
		if o.Priority != "" {
			f, err = TaskSubject(tt, o.Priority)
		}
		if err != nil {
			return jetstream.ConsumerConfig{}, fmt.Errorf("transport: consumer %s: %w", name, err)
		}
		filters = append(filters, f)
	}
	slices.Sort(filters)
	filters = slices.Compact(filters)

	if len(o.BackOff) >= o.MaxDeliver {
		return jetstream.ConsumerConfig{}, fmt.Errorf("%w: consumer %s: %d backoff values for %d deliveries (want fewer)", ErrInvalid, name, len(o.BackOff), o.MaxDeliver)
	}
	for _, d := range o.BackOff {
		if d <= 0 {
			return jetstream.ConsumerConfig{}, fmt.Errorf("%w: consumer %s: backoff %v is not positive", ErrInvalid, name, o.BackOff)
		}
	}
	ackWait := o.AckWait
	if len(o.BackOff) > 0 {
		ackWait = o.BackOff[0] // what the server would store anyway
	}
	return jetstream.ConsumerConfig{
		Durable:        name,
		Description:    "YMERA agent kind " + o.Kind,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxDeliver:     o.MaxDeliver,
		BackOff:        o.BackOff,
		FilterSubjects: filters,
		ReplayPolicy:   jetstream.ReplayInstantPolicy,
		MaxAckPending:  o.MaxAckPending,
	}, nil
}

// Name returns the consumer's durable name.
func (tc *TaskConsumer) Name() string { return tc.name }

// Fetch returns up to max tasks. Tasks ready now are returned at once;
// when none is, Fetch waits up to FetchWait for the first one and returns
// it with whatever else is ready by then, so one task on an idle queue is
// not held back waiting for a full batch. It returns no tasks and a nil
// error when the wait ends empty.
//
// When ctx ends, Fetch returns promptly with ctx's error; a task that
// arrived meanwhile is handed back to the server (Nak) for another worker.
func (tc *TaskConsumer) Fetch(ctx context.Context, max int) ([]*TaskDelivery, error) {
	if max <= 0 {
		return nil, fmt.Errorf("%w: fetch of %d tasks", ErrInvalid, max)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// 1: whatever is ready, in one round trip.
	batch, err := tc.cons.FetchNoWait(max)
	if err != nil {
		return nil, wrap("fetch "+tc.name, err)
	}
	out, err := tc.collect(ctx, batch, nil)
	if err != nil || len(out) > 0 {
		return out, err
	}

	// 2: long poll for the first task.
	wctx, cancel := context.WithTimeout(ctx, tc.fetchWait)
	batch, err = tc.cons.Fetch(1, jetstream.FetchContext(wctx))
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, wrap("fetch "+tc.name, err)
	}
	out, err = tc.collect(ctx, batch, out)
	cancel()
	if err != nil || len(out) == 0 || max == 1 {
		return out, err
	}

	// 3: top up with what else is ready now.
	batch, err = tc.cons.FetchNoWait(max - 1)
	if err != nil {
		return out, nil // the next Fetch reports a lasting failure
	}
	return tc.collect(ctx, batch, out)
}

// collect drains a batch into out. A batch ending on our own fetch deadline
// is a normal, empty end. When ctx ended, the tasks received are nak'ed
// and ctx's error returned. Any other batch error is returned only when no
// task arrived, so that received tasks are never dropped.
func (tc *TaskConsumer) collect(ctx context.Context, batch jetstream.MessageBatch, out []*TaskDelivery) ([]*TaskDelivery, error) {
	for msg := range batch.Messages() {
		d, err := newTaskDelivery(tc, msg)
		if err != nil {
			tc.c.logger.Warn("task message without metadata", "consumer", tc.name, "subject", msg.Subject(), "err", err)
			_ = msg.Nak()
			continue
		}
		out = append(out, d)
	}
	if ctx.Err() != nil {
		for _, d := range out {
			_ = d.msg.Nak()
		}
		return nil, ctx.Err()
	}
	err := batch.Error()
	switch {
	case err == nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return out, nil
	case len(out) > 0:
		tc.c.logger.Debug("fetch ended with an error after receiving tasks", "consumer", tc.name, "err", err)
		return out, nil
	}
	return nil, wrap("fetch "+tc.name, err)
}

// nakSkew is how much longer than asked the server waits before
// redelivering delivery n after a nak with a delay: it offsets the delay
// from BackOff[0] (its AckWait) but compares it with BackOff[n-1].
func (tc *TaskConsumer) nakSkew(n uint64) time.Duration {
	if len(tc.backOff) == 0 || n < 2 {
		return 0
	}
	i := min(int(n-1), len(tc.backOff)-1)
	return max(tc.backOff[i]-tc.backOff[0], 0)
}
