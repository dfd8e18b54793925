package transport

import (
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestRescueAgentTasksIdempotent routes three tasks to an agent by the
// selector's choice and one by the user's, then runs two rescues at once,
// as two gateways' presence watchers would: the three are on the shared
// subject exactly once each, with the routing mark gone, and the user's
// task is still on the agent's subject.
func TestRescueAgentTasksIdempotent(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	agent := newID()
	selected := map[string]bool{}
	for i := range 3 {
		task := newTask("rescue_me")
		task.AgentID = agent
		pctx := WithSelectedRoute(ctx)
		if i > 0 {
			pctx = WithoutMessageID(pctx) // as the submit path publishes
		}
		if _, err := c.PublishTask(pctx, task); err != nil {
			t.Fatal(err)
		}
		selected[task.ID] = true
	}
	explicit := newTask("rescue_me")
	explicit.AgentID = agent
	if _, err := c.PublishTask(ctx, explicit); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	moved := make([]int, 2)
	for i := range moved {
		wg.Go(func() {
			n, err := c.RescueAgentTasks(ctx, agent)
			if err != nil {
				t.Error(err)
			}
			moved[i] = n
		})
	}
	wg.Wait()
	if moved[0]+moved[1] < 3 {
		t.Errorf("rescues moved %v; want the three selected tasks moved", moved)
	}

	stream, err := c.JS().Stream(ctx, StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	list := func(filter string) []*jetstream.RawStreamMsg {
		var out []*jetstream.RawStreamMsg
		for seq := uint64(1); ; {
			m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
			if err != nil {
				return out
			}
			out = append(out, m)
			seq = m.Sequence + 1
		}
	}
	shared, err := TaskSubject("rescue_me", explicit.Priority)
	if err != nil {
		t.Fatal(err)
	}
	got := list(shared)
	if len(got) != 3 {
		t.Fatalf("%d messages on %s; want the three rescued tasks once each", len(got), shared)
	}
	for _, m := range got {
		if m.Header.Get(HeaderRouted) != "" {
			t.Errorf("rescued message %d keeps %s", m.Sequence, HeaderRouted)
		}
		if m.Header.Get(HeaderRepublished) == "" {
			t.Errorf("rescued message %d lacks %s", m.Sequence, HeaderRepublished)
		}
		task, err := DecodeTask(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if tid, _, ok := strings.Cut(id, ".r"); !ok || tid != task.ID || !selected[tid] {
			t.Errorf("rescued message %d has Nats-Msg-Id %q; want <task id>.r<seq> of a selected task", m.Sequence, id)
		}
	}
	left := list(prefixTasks + "*.*." + agent)
	if len(left) != 1 || left[0].Header.Get(jetstream.MsgIDHeader) != explicit.ID {
		t.Errorf("%d messages left on the agent's subjects; want only the explicit task", len(left))
	}
}
