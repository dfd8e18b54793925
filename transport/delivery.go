package transport

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// TaskDelivery is one delivery of a task to a consumer. Answer it exactly
// once with Ack, Nak or Term; InProgress may be called any number of times
// before that. A delivery left unanswered is delivered again after the
// consumer's ack deadline.
type TaskDelivery struct {
	msg       jetstream.Msg
	tc        *TaskConsumer
	seq       uint64
	delivered uint64
	deferred  atomic.Bool // a Nak is scheduled client-side
}

func newTaskDelivery(tc *TaskConsumer, msg jetstream.Msg) (*TaskDelivery, error) {
	md, err := msg.Metadata()
	if err != nil {
		return nil, err
	}
	return &TaskDelivery{msg: msg, tc: tc, seq: md.Sequence.Stream, delivered: md.NumDelivered}, nil
}

// Data returns the message body (see DecodeTask). The slice belongs to the
// delivery; do not modify it.
func (d *TaskDelivery) Data() []byte { return d.msg.Data() }

// Subject returns the subject the task was published on.
func (d *TaskDelivery) Subject() string { return d.msg.Subject() }

// Seq returns the task's stream sequence in YMERA_TASKS, the same across
// redeliveries.
func (d *TaskDelivery) Seq() uint64 { return d.seq }

// RowCommitted says whether the message was published after its task's row
// was committed (HeaderRowCommitted).
func (d *TaskDelivery) RowCommitted() bool {
	return d.msg.Headers().Get(HeaderRowCommitted) != ""
}

// Republished says whether the message is a copy that may repeat one that
// reached the stream before it (HeaderRepublished).
func (d *TaskDelivery) Republished() bool {
	return d.msg.Headers().Get(HeaderRepublished) != ""
}

// NumDelivered returns how many times the task has been delivered,
// including this time: 1 on the first delivery.
func (d *TaskDelivery) NumDelivered() uint64 { return d.delivered }

// Task decodes the body and sets Attempt from NumDelivered.
func (d *TaskDelivery) Task() (actors.Task, error) {
	t, err := DecodeTask(d.msg.Data())
	if err != nil {
		return actors.Task{}, err
	}
	t.Attempt = int(d.delivered)
	return t, nil
}

// Context returns parent carrying the publisher's trace context from the
// message headers, so that the actor's spans join the request's trace.
func (d *TaskDelivery) Context(parent context.Context) context.Context {
	return ExtractTrace(parent, d.msg.Headers())
}

// Ack tells the server the task is done and removes it from the work queue.
// It does not wait for the server's confirmation: a lost ack means one more
// delivery after the ack deadline, which the store's conditional state
// transitions already make harmless, while waiting would cost a round trip
// per task on the hot path. Use AckSync where confirmation matters.
func (d *TaskDelivery) Ack() error {
	if d.deferred.Load() {
		return d.answer("ack", jetstream.ErrMsgAlreadyAckd)
	}
	return d.answer("ack", d.msg.Ack())
}

// AckSync acknowledges the task and waits for the server to confirm it.
func (d *TaskDelivery) AckSync(ctx context.Context) error {
	if d.deferred.Load() {
		return d.answer("ack", jetstream.ErrMsgAlreadyAckd)
	}
	return d.answer("ack", d.msg.DoubleAck(ctx))
}

// Nak hands the task back for another delivery after delay (at once when
// delay is zero). The delivery counts toward MaxDeliver; once it is reached
// the task is not delivered again. While it waits, the task still counts
// toward MaxAckPending.
//
// The delay is honoured exactly even with a consumer BackOff. The server
// measures a nak delay on delivery n from BackOff[0] but compares it with
// BackOff[n-1], so a raw NakWithDelay(d) waits d+BackOff[n-1]-BackOff[0];
// Nak subtracts that skew. When delay is shorter than the skew, Nak sends
// InProgress (the task's deadline becomes BackOff[n-1], longer than delay)
// and a plain nak after delay from a timer in this process; if the process
// dies meanwhile the server redelivers at that deadline.
func (d *TaskDelivery) Nak(delay time.Duration) error {
	if d.deferred.Load() {
		return d.answer("nak", jetstream.ErrMsgAlreadyAckd)
	}
	if delay <= 0 {
		return d.answer("nak", d.msg.Nak())
	}
	skew := d.tc.nakSkew(d.delivered)
	if delay > skew {
		return d.answer("nak", d.msg.NakWithDelay(delay-skew))
	}
	if err := d.msg.InProgress(); err != nil {
		return d.answer("nak", err)
	}
	if !d.deferred.CompareAndSwap(false, true) {
		return d.answer("nak", jetstream.ErrMsgAlreadyAckd)
	}
	time.AfterFunc(delay, func() {
		if err := d.msg.Nak(); err != nil {
			d.tc.c.logger.Debug("deferred nak failed; the server redelivers at the ack deadline", "consumer", d.tc.name, "seq", d.seq, "err", err)
		}
	})
	return nil
}

// InProgress tells the server the task is still being worked on, resetting
// its ack deadline. A task that may run longer than the ack deadline calls
// it periodically (every third of the deadline is a safe rhythm).
func (d *TaskDelivery) InProgress() error {
	if d.deferred.Load() {
		return d.answer("in progress", jetstream.ErrMsgAlreadyAckd)
	}
	return d.answer("in progress", d.msg.InProgress())
}

// Term tells the server never to deliver the task again, whatever
// MaxDeliver says, and removes it from the work queue: for a task that
// cannot succeed (a permanent failure, an undecodable body).
func (d *TaskDelivery) Term() error {
	if d.deferred.Load() {
		return d.answer("term", jetstream.ErrMsgAlreadyAckd)
	}
	return d.answer("term", d.msg.Term())
}

func (d *TaskDelivery) answer(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(fmt.Sprintf("%s task seq %d", op, d.seq), err)
}
