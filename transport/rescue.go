package transport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderRouted marks a task message that sits on an agent's direct subject
// because the platform's selector chose that agent, not because the user
// named it. Its value is RoutedSelected. Such a placement is only a
// preference: when the agent goes offline the message is moved back to the
// kind's shared subject (RescueAgentTasks). A task whose agent_id the user
// set carries no such header and stays bound to its agent, by design: the
// user asked for that agent, and no other may run it.
const HeaderRouted = "Ymera-Routed"

// RoutedSelected is HeaderRouted's value on selector-routed tasks.
const RoutedSelected = "selected"

// selectedKey marks a publish context as selector routing.
type selectedKey struct{}

// WithSelectedRoute returns ctx marked so that PublishTask, for a task with
// an agent id, sets HeaderRouted: the agent id was the selector's choice.
// A context carries it so that every Queue adapter between the selector and
// the Conn passes the mark through untouched.
func WithSelectedRoute(ctx context.Context) context.Context {
	return context.WithValue(ctx, selectedKey{}, true)
}

func selectedRoute(ctx context.Context) bool {
	v, _ := ctx.Value(selectedKey{}).(bool)
	return v
}

// RescueAgentTasks moves the selector-routed tasks still stored on
// agentID's direct subjects (waiting, or delivered to the agent and not yet
// acknowledged) to their kind's shared subject, and returns how many it
// moved. Tasks the user addressed to the agent are left where they are.
//
// Each message is republished first, with the same body and a message id
// derived from the original's sequence ("<task id>.r<seq>", the task id
// read from the body when the message has no id), and deleted
// after: a crash between the two leaves a duplicate, which the store's
// conditional Start runs once, never a loss. The derived id also makes the
// rescue idempotent across processes: every gateway's presence watcher sees
// the agent go offline and may rescue at the same time; their republishes
// of one message carry the same id, so the stream's duplicate window keeps
// one, and a second delete of the original finds nothing. That is why no
// lock or claim is taken: a claimer that died mid-rescue would strand the
// tasks again, while racing idempotent rescuers cannot.
func (c *Conn) RescueAgentTasks(ctx context.Context, agentID string) (int, error) {
	if err := checkAgentID(agentID); err != nil {
		return 0, err
	}
	filter := prefixTasks + "*.*." + agentID
	stream, err := c.js.Stream(ctx, StreamTasks)
	if err != nil {
		return 0, wrap("rescue tasks of "+agentID, err)
	}
	moved := 0
	for seq := uint64(1); ; {
		raw, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return moved, nil
		}
		if err != nil {
			return moved, wrap("rescue tasks of "+agentID, err)
		}
		seq = raw.Sequence + 1
		if raw.Header.Get(HeaderRouted) != RoutedSelected {
			continue // the user's choice: stays with its agent
		}
		if err := c.rescueOne(ctx, stream, raw); err != nil {
			return moved, err
		}
		moved++
	}
}

// rescueOne republishes raw on its kind's shared subject, then deletes it.
func (c *Conn) rescueOne(ctx context.Context, stream jetstream.Stream, raw *jetstream.RawStreamMsg) error {
	i := strings.LastIndexByte(raw.Subject, '.')
	if i < 0 {
		return fmt.Errorf("transport: rescue: %w: subject %q", ErrInvalid, raw.Subject)
	}
	h := make(nats.Header, len(raw.Header))
	for k, v := range raw.Header {
		if k != HeaderRouted && !strings.HasPrefix(k, "Nats-") {
			h[k] = v
		}
	}
	id := raw.Header.Get(jetstream.MsgIDHeader)
	if id == "" {
		// Published without one (the submit path): the task id, from the
		// body. A body that is not a task leaves the sequence alone to make
		// the id, unique all the same.
		if t, err := DecodeTask(raw.Data); err == nil {
			id = t.ID
		}
	}
	h[jetstream.MsgIDHeader] = []string{id + ".r" + strconv.FormatUint(raw.Sequence, 10)}
	// The original may have been delivered to the agent, and its task run
	// or even ended: the copy asks the store before running anything.
	h[HeaderRepublished] = []string{"1"}
	msg := &nats.Msg{Subject: raw.Subject[:i], Data: raw.Data, Header: h}
	if _, err := c.js.PublishMsg(ctx, msg); err != nil {
		return wrap("rescue task "+id, err)
	}
	c.ring(msg.Subject)
	if err := stream.DeleteMsg(ctx, raw.Sequence); err != nil {
		// The server's "no message found" comes back as text only: ask
		// whether the message is still there (another rescuer deleted it,
		// or its agent acknowledged it, and both are fine).
		if _, gerr := stream.GetMsg(ctx, raw.Sequence); !errors.Is(gerr, jetstream.ErrMsgNotFound) {
			return wrap("rescue task "+id, err)
		}
	}
	return nil
}
