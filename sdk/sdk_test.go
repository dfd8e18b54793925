package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/sdk"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/transport"
)

// platform is the platform side built from packages, as cmd/ymera wires
// it: embedded NATS (with a TCP listener for the agent), the SQLite store,
// the results service and a submitter.
type platform struct {
	conn      *transport.Conn
	db        *sqlite.DB
	submitter *runner.Submitter
}

type queue struct{ c *transport.Conn }

func (q queue) PublishTask(ctx context.Context, t actors.Task) error {
	_, err := q.c.PublishTask(ctx, t)
	return err
}

func startPlatform(t *testing.T) *platform {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ymera.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := transport.Connect(ctx, transport.Options{DataDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := conn.Setup(ctx, transport.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// RetryBase near 1 keeps retry delays around a second.
	svc, err := runner.StartReportService(runner.ReportConfig{Conn: conn, Tasks: db.Tasks(), RetryBase: 1.01, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return &platform{conn: conn, db: db, submitter: &runner.Submitter{Tasks: db.Tasks(), Queue: queue{conn}, Events: conn, Logger: log}}
}

// connect opens a plain client connection to the platform's server.
func (p *platform) connect(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(p.conn.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// runAgent runs kind through sdk.Run until the returned stop, which checks
// that Run returns, without an error, within 30 s.
func runAgent(t *testing.T, nc *nats.Conn, kind actors.Kind, opts sdk.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sdk.Run(ctx, nc, kind, opts) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return within 30 s of its context ending")
		}
	}
}

func (p *platform) submit(t *testing.T, params string) string {
	t.Helper()
	task := actors.Task{
		ID: uuid.Must(uuid.NewV7()).String(), Name: "sdk test", Type: "sdk_job", Parameters: json.RawMessage(params),
		Priority: actors.PriorityNormal, MaxAttempts: 3, CreatedAt: time.Now().UTC(),
	}
	if err := p.submitter.Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	return task.ID
}

func (p *platform) waitFinal(t *testing.T, id string) store.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := p.db.Tasks().Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Final() {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s after 30 s", id, got.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testAgent behaves as its task's "mode" parameter says and counts what the
// SDK made it do.
type testAgent struct{ s *shared }

type shared struct {
	mu        sync.Mutex
	calls     map[string]int // task id → Process calls
	inits     atomic.Int32
	cleanups  atomic.Int32
	blocked   chan string // ids of "block" tasks once running
	cancelled chan error  // their context's error once cancelled
}

func (a testAgent) Initialize(context.Context) error { a.s.inits.Add(1); return nil }
func (a testAgent) Cleanup(context.Context) error    { a.s.cleanups.Add(1); return nil }

func (a testAgent) Process(ctx context.Context, t actors.Task) (actors.Result, error) {
	a.s.mu.Lock()
	a.s.calls[t.ID]++
	n := a.s.calls[t.ID]
	a.s.mu.Unlock()
	var p struct {
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(t.Parameters, &p); err != nil {
		return actors.Result{}, actors.Permanent(err)
	}
	switch p.Mode {
	case "flaky":
		if n == 1 {
			return actors.Result{}, errors.New("flaky: try again")
		}
	case "bad":
		return actors.Result{}, actors.Permanent(errors.New("bad input"))
	case "block":
		a.s.blocked <- t.ID
		<-ctx.Done()
		a.s.cancelled <- ctx.Err()
		return actors.Result{}, ctx.Err()
	case "block-once":
		if n == 1 {
			a.s.blocked <- t.ID
			<-ctx.Done()
			return actors.Result{}, ctx.Err()
		}
	}
	return actors.JSONResult(map[string]any{"mode": p.Mode, "attempt": t.Attempt})
}

// TestRun runs a Go agent through sdk.Run against the real results service
// and checks each outcome the protocol knows.
func TestRun(t *testing.T) {
	p := startPlatform(t)
	nc := p.connect(t)
	s := &shared{calls: map[string]int{}, blocked: make(chan string, 1), cancelled: make(chan error, 1)}
	kind := actors.Kind{Name: "sdk_test", TaskTypes: []string{"sdk_job"}, New: func() actors.Agent { return testAgent{s} }}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- sdk.Run(ctx, nc, kind, sdk.Options{AgentID: "sdk-test-agent", Workers: 2, PollInterval: 20 * time.Millisecond,
			Ready: func() { close(ready) }})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30 s of its context ending")
		}
	}
	t.Cleanup(stop)

	// Ready comes once the agent is known: its type registered, its
	// heartbeat stored (a second call would panic on the closed channel).
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run returned %v before it was ready", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run not ready within 30 s")
	}
	if kv, err := p.conn.JS().KeyValue(context.Background(), transport.BucketHeartbeats); err != nil {
		t.Fatal(err)
	} else if _, err := kv.Get(context.Background(), "sdk-test-agent"); err != nil {
		t.Errorf("no heartbeat of the agent once it is ready: %v", err)
	}

	t.Run("completed exactly once", func(t *testing.T) {
		id := p.submit(t, `{"mode":"ok"}`)
		got := p.waitFinal(t, id)
		if got.Status != actors.StatusCompleted || !strings.Contains(string(got.Result), `"mode":"ok"`) {
			t.Fatalf("task is %s with result %s (%s), want completed with the agent's result", got.Status, got.Result, got.ErrorMessage)
		}
		s.mu.Lock()
		n := s.calls[id]
		s.mu.Unlock()
		if n != 1 || got.Attempts != 1 {
			t.Errorf("processed %d times, %d attempts; want 1 and 1", n, got.Attempts)
		}
	})
	t.Run("transient error retried", func(t *testing.T) {
		id := p.submit(t, `{"mode":"flaky"}`)
		got := p.waitFinal(t, id)
		if got.Status != actors.StatusCompleted || got.Attempts != 2 || !strings.Contains(string(got.Result), `"attempt":2`) {
			t.Fatalf("task is %s after %d attempts, result %s; want completed on attempt 2", got.Status, got.Attempts, got.Result)
		}
	})
	t.Run("permanent error failed", func(t *testing.T) {
		id := p.submit(t, `{"mode":"bad"}`)
		got := p.waitFinal(t, id)
		if got.Status != actors.StatusFailed || got.Attempts != 1 || !strings.Contains(got.ErrorMessage, "bad input") {
			t.Fatalf("task is %s after %d attempts (%s); want failed once with the agent's error", got.Status, got.Attempts, got.ErrorMessage)
		}
	})
	t.Run("cancel honoured", func(t *testing.T) {
		id := p.submit(t, `{"mode":"block"}`)
		select {
		case got := <-s.blocked:
			if got != id {
				t.Fatalf("blocked task %s, want %s", got, id)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the blocking task did not start within 30 s")
		}
		if err := p.conn.PublishCancel(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-s.cancelled:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("task context ended with %v, want cancelled", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the task's context was not cancelled within 30 s")
		}
		got := p.waitFinal(t, id)
		if got.Status != actors.StatusFailed || got.Attempts != 1 {
			t.Fatalf("task is %s after %d attempts (%s); want failed, not retried", got.Status, got.Attempts, got.ErrorMessage)
		}
	})
	t.Run("presence", func(t *testing.T) {
		kv, err := p.conn.JS().KeyValue(t.Context(), transport.BucketHeartbeats)
		if err != nil {
			t.Fatal(err)
		}
		e, err := kv.Get(t.Context(), "sdk-test-agent")
		if err != nil {
			t.Fatalf("no heartbeat: %v", err)
		}
		if _, err := nc.Request("$SRV.PING.ymera-agent-sdk_test", nil, 10*time.Second); err != nil {
			t.Errorf("$SRV.PING of the agent: %v", err)
		}
		hb, err := transport.DecodeHeartbeat(e.Value())
		if err != nil || hb.Kind != "sdk_test" || hb.Capacity != 2 {
			t.Errorf("heartbeat %+v (%v), want kind sdk_test, capacity 2", hb, err)
		}
	})

	stop()
	if s.inits.Load() != 2 || s.cleanups.Load() != 2 {
		t.Errorf("%d initializations and %d cleanups, want 2 and 2", s.inits.Load(), s.cleanups.Load())
	}
}

// TestStopHandsTaskBack: a task whose agent gives up because Run is
// stopping is not reported as failed, even on its last attempt: it is
// handed back, and the next agent completes it.
func TestStopHandsTaskBack(t *testing.T) {
	p := startPlatform(t)
	nc := p.connect(t)
	s := &shared{calls: map[string]int{}, blocked: make(chan string, 1), cancelled: make(chan error, 1)}
	kind := actors.Kind{Name: "sdk_test", TaskTypes: []string{"sdk_job"}, New: func() actors.Agent { return testAgent{s} }}
	start := func() (stop func()) {
		return runAgent(t, nc, kind, sdk.Options{AgentID: "sdk-stop-agent", Workers: 1, PollInterval: 20 * time.Millisecond})
	}

	task := actors.Task{
		ID: uuid.Must(uuid.NewV7()).String(), Name: "sdk stop", Type: "sdk_job", Parameters: json.RawMessage(`{"mode":"block-once"}`),
		Priority: actors.PriorityNormal, MaxAttempts: 1, CreatedAt: time.Now().UTC(),
	}
	if err := p.submitter.Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	stop := start()
	select {
	case <-s.blocked:
	case <-time.After(30 * time.Second):
		t.Fatal("the task did not start within 30 s")
	}
	stop()
	if got, err := p.db.Tasks().Get(t.Context(), task.ID); err != nil || got.Status.Final() {
		t.Fatalf("after the stop the task is %s (%s, %v), want it left for another delivery", got.Status, got.ErrorMessage, err)
	}
	t.Cleanup(start())
	if got := p.waitFinal(t, task.ID); got.Status != actors.StatusCompleted {
		t.Fatalf("task is %s (%s), want completed by the next agent", got.Status, got.ErrorMessage)
	}
}

// TestConsumerSettings: the consumers an agent declares carry the ack
// deadline and delivery cap it was given, the platform's nodes' settings,
// since the kind's shared consumers are one per kind and the last to declare
// them sets them.
func TestConsumerSettings(t *testing.T) {
	p := startPlatform(t)
	nc := p.connect(t)
	kind := actors.Kind{Name: "sdk_settings", TaskTypes: []string{"sdk_settings_job"}, New: func() actors.Agent { return testAgent{&shared{calls: map[string]int{}}} }}
	ready := make(chan struct{})
	stop := runAgent(t, nc, kind, sdk.Options{AgentID: "sdk-settings-agent", AckWait: 47 * time.Second,
		MaxDeliver: 7, PollInterval: 20 * time.Millisecond, Ready: func() { close(ready) }})
	defer stop()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("agent not ready within 30 s")
	}
	names := []string{}
	for _, pr := range actors.Priorities {
		shared, err := transport.PriorityConsumerName(kind.Name, pr)
		if err != nil {
			t.Fatal(err)
		}
		own, err := transport.AgentConsumerName("sdk-settings-agent", pr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, shared, own)
	}
	for _, name := range names {
		c, err := p.conn.JS().Consumer(t.Context(), transport.StreamTasks, name)
		if err != nil {
			t.Fatalf("consumer %s: %v", name, err)
		}
		cfg := c.CachedInfo().Config
		if cfg.MaxDeliver != 7 || (len(cfg.BackOff) == 0 && cfg.AckWait != 47*time.Second) ||
			(len(cfg.BackOff) > 0 && cfg.BackOff[0] != 47*time.Second) {
			t.Errorf("consumer %s: ack wait %v, backoff %v, max deliver %d; want 47 s and 7", name, cfg.AckWait, cfg.BackOff, cfg.MaxDeliver)
		}
	}
}
