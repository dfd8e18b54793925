package runner_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// presenceInterval is the heartbeat interval of these tests; the bucket's
// TTL is three of them.
const presenceInterval = 200 * time.Millisecond

// setupPresence is setup with a heartbeat bucket sized for presenceInterval.
func setupPresence(t *testing.T) *bundle {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	b := &bundle{log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ymera.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := transport.Connect(ctx, transport.Options{DataDir: filepath.Join(dir, "nats")}, b.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := conn.Setup(ctx, transport.SetupOptions{HeartbeatTTL: 3 * presenceInterval}); err != nil {
		t.Fatal(err)
	}
	b.db, b.conn, b.sup = db, conn, supervisor.New(b.log)
	t.Cleanup(func() { b.sup.Shutdown(context.Background()) })
	return b
}

// watchPresence runs a presence watcher until the test ends.
func (b *bundle) watchPresence(t *testing.T) *runner.PresenceWatcher {
	t.Helper()
	w := &runner.PresenceWatcher{Source: b.conn, Agents: b.db.Agents(), Events: b.conn, Logger: b.log}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// agentEvents collects the presence events of agentID.
func (b *bundle) agentEvents(t *testing.T, agentID string) func() []string {
	t.Helper()
	subj, err := transport.AgentEventSubject(agentID)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var types []string
	sub, err := b.conn.NC().Subscribe(subj, func(m *nats.Msg) {
		var ev transport.Event
		if json.Unmarshal(m.Data, &ev) == nil {
			mu.Lock()
			types = append(types, ev.Type)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), types...)
	}
}

func (b *bundle) agentStatus(t *testing.T, id string) store.Agent {
	t.Helper()
	a, err := b.db.Agents().Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOfflineAgentLosesItsTaskToAnother is issue 4's "an external agent
// that stops heartbeating is offline within three intervals and its task
// runs elsewhere": an agent outside the platform, speaking plain NATS,
// heartbeats on its key's subject and takes a task from the kind's shared
// consumer, then goes silent (no beat, no ack, no InProgress). Its key
// expires, the watcher sets it offline and says so, and after AckWait the
// task is delivered to a worker of the platform, which completes it.
func TestOfflineAgentLosesItsTaskToAnother(t *testing.T) {
	t.Parallel()
	b := setupPresence(t)
	ctx := t.Context()
	agentID := uuid.Must(uuid.NewV7()).String()
	if err := b.db.Agents().Create(ctx, store.Agent{ID: agentID, Name: "external", Status: "offline"}); err != nil {
		t.Fatal(err)
	}
	events := b.agentEvents(t, agentID)
	b.watchPresence(t)

	// The external agent beats over NATS: a Heartbeat body on its subject.
	subj, err := transport.HeartbeatSubject(agentID)
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
			body, _ := json.Marshal(transport.Heartbeat{V: transport.ProtocolVersion, AgentID: agentID,
				Status: actors.Healthy, Time: time.Now().UTC()})
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
	waitFor(t, func() bool { return b.agentStatus(t, agentID).Status == "active" })

	// It takes the task from the kind's consumer and holds it.
	k := kind("failover", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]string{"ran": "platform"})
	})
	cons, err := b.conn.EnsurePriorityConsumers(ctx, transport.ConsumerOptions{
		Kind: k.Name, TaskTypes: k.TaskTypes, AckWait: time.Second, MaxDeliver: 5})
	if err != nil {
		t.Fatal(err)
	}
	task := newTask("failover_job", "")
	if err := b.submitter().Submit(ctx, task); err != nil {
		t.Fatal(err)
	}
	var held []*transport.TaskDelivery
	waitFor(t, func() bool {
		got, err := cons[2].FetchReady(ctx, 1) // normal priority
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, got...)
		return len(held) == 1
	})

	// The platform's worker shares the consumer; then the agent goes silent.
	b.runNode(t, runner.NodeConfig{
		Kinds:   []actors.Kind{k},
		Workers: 2, TaskTimeout: 10 * time.Second, AckWait: time.Second, MaxDeliver: 5, Logger: b.log,
	})
	stopBeating()
	<-beating

	waitFor(t, func() bool { return b.agentStatus(t, agentID).Status == "offline" })
	a := b.agentStatus(t, agentID)
	if a.LastHeartbeat == nil {
		t.Error("last_heartbeat not recorded")
	}
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || string(got.Result) != `{"ran":"platform"}` {
		t.Errorf("task %s result %s; want completed by the platform's worker", got.Status, got.Result)
	}
	waitFor(t, func() bool {
		ev := events()
		return len(ev) >= 2 && ev[0] == transport.EventAgentOnline && ev[len(ev)-1] == transport.EventAgentOffline
	})
	if ev := events(); len(ev) != 2 {
		t.Errorf("presence events %v; want one online, one offline", ev)
	}
}
