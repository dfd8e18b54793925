package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// TestCompletedEventNamesAgent: the task.completed event of a task run by a
// registered built-in pool names that pool's agent id, so that watchers (and
// the cluster test) can tell which node did the work.
func TestCompletedEventNamesAgent(t *testing.T) {
	t.Parallel()
	b := setupPresence(t)
	k := kind("named", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]bool{"ok": true})
	})
	agentID := b.startRegisteredNode(t, "node-x", k).AgentIDs()[0]

	task := newTask("named_job", "")
	events, err := b.conn.NC().SubscribeSync("ymera.events.task." + task.ID)
	if err == nil {
		err = b.conn.NC().Flush() // the server has the subscription before any event
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := events.NextMsg(15 * time.Second)
		if err != nil {
			t.Fatalf("waiting for task.completed: %v", err)
		}
		ev, err := transport.DecodeEvent(msg.Data)
		if err != nil {
			t.Fatalf("event %s: %v", msg.Data, err)
		}
		if ev.Type != transport.EventTaskCompleted {
			continue
		}
		if ev.AgentID != agentID || ev.TaskID != task.ID {
			t.Fatalf("task.completed names agent %q task %q, want %q %q", ev.AgentID, ev.TaskID, agentID, task.ID)
		}
		return
	}
}
