package transport

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
)

// Control messages are core NATS, not JetStream: a request to cancel a
// running task matters only to the node running it, now. If it is lost (no
// node running the task listened, or the connection dropped), the task runs
// to its end and the caller sees the real outcome; the store's transition
// to cancelled is what makes a cancel of a queued task durable, and
// ymera_cancels (cancels.go) what keeps a node from running it unrecorded.

// PublishCancel asks every node to cancel the running task id. It returns
// once the server has the request (a flush), not when a node acted on it.
func (c *Conn) PublishCancel(ctx context.Context, taskID string) error {
	subject, err := TaskCancelSubject(taskID)
	if err != nil {
		return err
	}
	if err := c.nc.Publish(subject, nil); err != nil {
		return wrap("publish cancel "+taskID, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	if err := c.nc.FlushWithContext(ctx); err != nil {
		return wrap("publish cancel "+taskID, err)
	}
	return nil
}

// SubscribeCancels calls cancel with the task id of every cancel request,
// on the subscription's goroutine (keep it short), until stop is called.
func (c *Conn) SubscribeCancels(cancel func(taskID string)) (stop func(), err error) {
	sub, err := c.nc.Subscribe(TaskCancelWildcard(), func(m *nats.Msg) {
		id, err := TaskIDOfCancelSubject(m.Subject)
		if err != nil {
			c.logger.Warn("ignoring malformed cancel request", "subject", m.Subject)
			return
		}
		cancel(id)
	})
	if err != nil {
		return nil, wrap("subscribe cancels", err)
	}
	if err := c.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, wrap("subscribe cancels", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
