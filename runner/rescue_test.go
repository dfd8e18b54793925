package runner_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// kindTable is a fixed runner.KindOf.
type kindTable map[string]string

func (k kindTable) Kind(taskType string) (string, bool) { v, ok := k[taskType]; return v, ok }

// TestOfflineAgentsRoutedTasksAreRescued is issue 4's "an agent that goes
// offline loses its tasks to others": agent A of kind "rescue" beats but
// never takes work (its workers are stuck), so the selector, seeing it
// alone, routes every new task to A's direct subject. A user also
// addresses one task to A explicitly. Then A's beats stop and a node of
// the kind starts as agent B. Once A's key expires, the watcher moves the
// selector's tasks to the shared queue, where B runs each exactly once;
// the explicit task stays on A's subject.
func TestOfflineAgentsRoutedTasksAreRescued(t *testing.T) {
	t.Parallel()
	b := setupPresence(t)
	ctx := t.Context()
	w := &runner.PresenceWatcher{Source: b.conn, Agents: b.db.Agents(), Events: b.conn, Logger: b.log, Rescuer: b.conn}
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// Agent A beats as a healthy agent of the kind, and nothing more.
	agentA := uuid.Must(uuid.NewV7()).String()
	if err := b.db.Agents().Create(ctx, store.Agent{ID: agentA, Name: "a", Status: "offline"}); err != nil {
		t.Fatal(err)
	}
	subj, err := transport.HeartbeatSubject(agentA)
	if err != nil {
		t.Fatal(err)
	}
	beatCtx, stopBeating := context.WithCancel(ctx)
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		tick := time.NewTicker(presenceInterval)
		defer tick.Stop()
		for {
			body, _ := json.Marshal(transport.Heartbeat{V: transport.ProtocolVersion, AgentID: agentA,
				Kind: "rescue", Status: actors.Healthy, Time: time.Now().UTC()})
			if _, err := b.conn.JS().Publish(beatCtx, subj, body); err != nil && beatCtx.Err() == nil {
				t.Errorf("heartbeat: %v", err)
			}
			select {
			case <-beatCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	waitFor(t, func() bool { _, ok := w.Live()[agentA]; return ok })

	sub := b.submitter()
	sub.Queue = runner.RoutedQueue{Queue: sub.Queue, Selector: &runner.Selector{
		Presence: w, Kinds: kindTable{"rescue_job": "rescue"}}}
	ids := make([]string, 5)
	for i := range ids {
		task := newTask("rescue_job", "")
		if err := sub.Submit(ctx, task); err != nil {
			t.Fatal(err)
		}
		ids[i] = task.ID
	}
	explicit := newTask("rescue_job", "")
	explicit.AgentID = agentA
	if err := sub.Submit(ctx, explicit); err != nil {
		t.Fatal(err)
	}
	stream, err := b.conn.JS().Stream(ctx, transport.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	onA := func() int { // messages stored on A's direct subjects
		n := 0
		for seq := uint64(1); ; n++ {
			m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject("ymera.tasks.*.*."+agentA))
			if err != nil {
				return n
			}
			seq = m.Sequence + 1
		}
	}
	if n := onA(); n != len(ids)+1 {
		t.Fatalf("%d messages on A's subjects; want all %d routed there", n, len(ids)+1)
	}

	// B comes up, A dies.
	var mu sync.Mutex
	runs := map[string]int{}
	b.startRegisteredNode(t, "rescuer", kind("rescue", func(_ context.Context, tk actors.Task) (actors.Result, error) {
		mu.Lock()
		runs[tk.ID]++
		mu.Unlock()
		return actors.JSONResult(map[string]string{"ran": "b"})
	}))
	stopBeating()
	<-beating

	for _, id := range ids {
		if got := waitFinal(t, b.db.Tasks(), id); got.Status != actors.StatusCompleted {
			t.Errorf("task %s ended %s; want completed by B", id, got.Status)
		}
	}
	mu.Lock()
	for _, id := range ids {
		if runs[id] != 1 {
			t.Errorf("task %s ran %d times; want once", id, runs[id])
		}
	}
	if runs[explicit.ID] != 0 {
		t.Errorf("explicit task ran on B %d times; want it left for A", runs[explicit.ID])
	}
	mu.Unlock()
	if n := onA(); n != 1 {
		t.Errorf("%d messages left on A's subjects; want only the explicit task", n)
	}
	if got, err := b.db.Tasks().Get(ctx, explicit.ID); err != nil || got.Status.Final() {
		t.Errorf("explicit task: %s, %v; want it still waiting for A", got.Status, err)
	}
}
