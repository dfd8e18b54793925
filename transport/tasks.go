package transport

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// PublishResult is the server's acknowledgement of a published task.
type PublishResult struct {
	// Stream is the stream that stored the task (YMERA_TASKS).
	Stream string
	// Seq is the task's stream sequence.
	Seq uint64
	// Duplicate is true when the server had already stored a message with
	// this task id inside the duplicate window and dropped this one. The
	// task is on the queue either way.
	Duplicate bool
}

// PublishTask puts t on the durable queue and waits for the server to store
// it. The message id is the task id, so publishing the same task again
// inside the duplicate window stores nothing new (Duplicate reports it):
// that makes "publish, crash, publish again" safe. The trace context of ctx
// travels in the headers. Once the task is stored it rings its lane's
// doorbell (ring.go).
//
// Errors wrap ErrInvalid for a task that cannot be encoded and
// ErrUnavailable when JetStream did not answer; in the latter case the task
// may or may not be stored, and publishing it again is the remedy.
func (c *Conn) PublishTask(ctx context.Context, t actors.Task) (PublishResult, error) {
	msg, err := taskMsg(ctx, t)
	if err != nil {
		return PublishResult{}, fmt.Errorf("transport: publish task %s: %w", t.ID, err)
	}
	ack, err := c.js.PublishMsg(ctx, msg)
	if err != nil {
		return PublishResult{}, wrap("publish task "+t.ID, err)
	}
	c.ring(msg.Subject)
	return PublishResult{Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// PublishTasks publishes a batch back to back without waiting between them,
// then waits for every acknowledgement. It returns one error per task, in
// order, nil for a task the server stored (or had already stored). This is
// the publish half of group commit: one round trip's latency for the batch.
// Then it rings the doorbell of each lane it stored into, once (ring.go).
// When ctx ends first, the tasks not yet acknowledged get ctx's error; they
// may still be stored.
func (c *Conn) PublishTasks(ctx context.Context, tasks []actors.Task) []error {
	errs := make([]error, len(tasks))
	futures := make([]jetstream.PubAckFuture, len(tasks))
	noID := context.WithValue(ctx, messageIDKey{}, "") // one for the batch
	for i, t := range tasks {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("transport: publish task %s: %w", t.ID, err)
			continue
		}
		msg, err := taskMsg(noID, t)
		if err != nil {
			errs[i] = fmt.Errorf("transport: publish task %s: %w", t.ID, err)
			continue
		}
		f, err := c.js.PublishMsgAsync(msg)
		if err != nil {
			errs[i] = wrap("publish task "+t.ID, err)
			continue
		}
		futures[i] = f
	}
	c.awaitStored(ctx, tasks, futures, errs)
	return errs
}

// awaitStored waits for the acknowledgement of each task published with a
// future (futures[i] is nil for one that was not published), records in
// errs[i] why one was not stored, then rings the doorbell of each lane
// stored into, once.
func (c *Conn) awaitStored(ctx context.Context, tasks []actors.Task, futures []jetstream.PubAckFuture, errs []error) {
	var stored lanes
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
			stored.add(f.Msg().Subject)
		case err := <-f.Err():
			errs[i] = wrap("publish task "+tasks[i].ID, err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("transport: publish task %s: %w", tasks[i].ID, ctx.Err())
		}
	}
	c.ring(stored...)
}

// HeaderRowCommitted marks a task message published after its task's row
// was committed (the submit path, the Sweeper, a replay). It is a hint for
// the consuming side: a message with it is started on the row it names; a
// message without it, as a service publishing straight to NATS sends, most
// likely has no row yet and gets one inserted already started, with a
// fallback to the other way in either case.
const HeaderRowCommitted = "Ymera-Row-Committed"

// HeaderRepublished marks a task message that may repeat one its task had
// before: the Sweeper's copy of a submission's message after a crash, or
// after a store failure, between the publish and its confirmation, and a
// rescued copy of a message that was routed to an agent that went offline
// (RescueAgentTasks), which may have run it. The consuming side asks the
// store before running such a message, never deferring its start, so a
// copy of a task that was started or ended meanwhile runs nothing.
const HeaderRepublished = "Ymera-Republished"

// committedRowKey marks a publish context whose task rows are committed.
type committedRowKey struct{}

// republishedKey marks a publish context whose task messages are copies.
type republishedKey struct{}

// WithRepublished returns ctx marked so that the task messages published
// with it carry HeaderRepublished.
func WithRepublished(ctx context.Context) context.Context {
	return context.WithValue(ctx, republishedKey{}, true)
}

// WithCommittedRow returns ctx marked so that PublishTask and PublishBatch
// set HeaderRowCommitted on the messages they publish with it.
func WithCommittedRow(ctx context.Context) context.Context {
	return context.WithValue(ctx, committedRowKey{}, true)
}

func committedRow(ctx context.Context) bool {
	v, _ := ctx.Value(committedRowKey{}).(bool)
	return v
}

// taskMsg builds the message of t: its subject, body, message id and trace
// context.
func taskMsg(ctx context.Context, t actors.Task) (*nats.Msg, error) {
	body, err := EncodeTask(t)
	if err != nil {
		return nil, err
	}
	subject, err := TaskSubject(t.Type, t.Priority)
	if t.AgentID != "" {
		// Routed: only the named agent's consumers take it.
		subject, err = AgentTaskSubject(t.Type, t.Priority, t.AgentID)
	}
	if err != nil {
		return nil, err
	}
	h := make(nats.Header, 4)
	if id := messageID(ctx, t.ID); id != "" {
		h[jetstream.MsgIDHeader] = []string{id}
	}
	if t.AgentID != "" && selectedRoute(ctx) {
		h[HeaderRouted] = []string{RoutedSelected} // movable if the agent dies
	}
	if committedRow(ctx) {
		h[HeaderRowCommitted] = []string{"1"}
	}
	if again, _ := ctx.Value(republishedKey{}).(bool); again {
		h[HeaderRepublished] = []string{"1"}
	}
	InjectTrace(ctx, h)
	return &nats.Msg{Subject: subject, Data: body, Header: h}, nil
}
