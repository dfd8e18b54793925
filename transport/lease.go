package transport

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// A task's lease is the YMERA_TASKS sequence of the message whose delivery
// started its running attempt. While that message is in the stream,
// JetStream redelivers it until it is acknowledged or runs out of
// deliveries, so the attempt either finishes or is dead-lettered. Once the
// message is gone without the attempt finishing (a rescue moved it while it
// ran on a node that died, or a crash lost the tail of the stream before it
// reached the disk), nothing would ever bring the task back: TaskMessageHeld
// is how the runner tells the two apart.

// TaskMessageHeld reports whether YMERA_TASKS still holds the message at
// seq and that message carries taskID. A sequence reused by another task's
// message (after the stream lost its tail) is not held.
func (c *Conn) TaskMessageHeld(ctx context.Context, seq uint64, taskID string) (bool, error) {
	if seq == 0 {
		return false, nil
	}
	stream, err := c.js.Stream(ctx, StreamTasks)
	if err != nil {
		return false, wrap("look up task message", err)
	}
	raw, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, wrap("look up task message", err)
	}
	t, err := DecodeTask(raw.Data)
	if err != nil {
		return false, nil // not a task message at all: it cannot run ours
	}
	return t.ID == taskID, nil
}

type messageIDKey struct{}

// WithMessageID makes PublishTask (and PublishEach, for the task whose
// context carries it) use id as the message's Nats-Msg-Id instead of the
// task id; PublishTasks, which has one context for the whole batch,
// ignores it. A task published again on purpose
// while its first message may still be in the server's duplicate window
// (two minutes by default) needs its own id, or the server would drop it
// as a repeat.
func WithMessageID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, messageIDKey{}, id)
}

// noMessageIDKey marks a publish context whose task messages carry no
// Nats-Msg-Id.
type noMessageIDKey struct{}

// WithoutMessageID makes the task messages published with ctx carry no
// Nats-Msg-Id at all, so the server keeps no record of the message for
// its duplicate window. That record is not free: nats-server holds each id
// for the window and, until it compacts its list of them, for up to about
// three windows more, two heap objects an id that its garbage collector
// scans on every cycle (docs/performance.md, step 18). It is for a message
// that is its task's only one unless a crash intervenes, and whose copies
// the store's conditional start drops (the submit path: a copy exists only
// when the process died between its commit and its PubAcks and the
// Sweeper published the task again). WithMessageID on the same context
// wins.
func WithoutMessageID(ctx context.Context) context.Context {
	return context.WithValue(ctx, noMessageIDKey{}, true)
}

// messageID returns the Nats-Msg-Id of task taskID's message published
// with ctx, or "" for none.
func messageID(ctx context.Context, taskID string) string {
	if id, ok := ctx.Value(messageIDKey{}).(string); ok && id != "" {
		return id
	}
	if none, _ := ctx.Value(noMessageIDKey{}).(bool); none {
		return ""
	}
	return taskID
}
