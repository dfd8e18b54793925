package runner_test

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
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// bundle is one test's real parts: a SQLite file, an embedded NATS server
// with JetStream, and a supervisor.
type bundle struct {
	db   *sqlite.DB
	conn *transport.Conn
	sup  *supervisor.Supervisor
	log  *slog.Logger
}

func setup(t *testing.T) *bundle {
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
	conn, err := transport.Connect(ctx, transport.Options{DataDir: filepath.Join(dir, "nats")}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := conn.Setup(ctx, transport.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	sup := supervisor.New(log)
	t.Cleanup(func() { sup.Shutdown(context.Background()) })
	return &bundle{db: db, conn: conn, sup: sup, log: log}
}

// runNode starts a node on the bundle's parts (the connection, the task
// store, the supervisor and the logger, where cfg names none) and stops it
// when the test ends.
func (b *bundle) runNode(t *testing.T, cfg runner.NodeConfig) *runner.Node {
	t.Helper()
	if cfg.Conn == nil {
		cfg.Conn = b.conn
	}
	if cfg.Tasks == nil {
		cfg.Tasks = b.db.Tasks()
	}
	if cfg.Supervisor == nil {
		cfg.Supervisor = b.sup
	}
	if cfg.Logger == nil {
		cfg.Logger = b.log
	}
	n, err := runner.StartNode(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	return n
}

// testNodeConfig is the configuration of kinds with short timeouts suited
// to tests.
func testNodeConfig(taskTimeout time.Duration, kinds ...actors.Kind) runner.NodeConfig {
	return runner.NodeConfig{
		Kinds:   kinds,
		Workers: 2, TaskTimeout: taskTimeout, AckWait: 2 * time.Second, RetryBase: 1.01,
		Backoff: supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
	}
}

// startNode runs kinds with short timeouts suited to tests.
func (b *bundle) startNode(t *testing.T, taskTimeout time.Duration, kinds ...actors.Kind) *runner.Node {
	t.Helper()
	return b.runNode(t, testNodeConfig(taskTimeout, kinds...))
}

func (b *bundle) submitter() *runner.Submitter {
	return &runner.Submitter{Tasks: b.db.Tasks(), Queue: queue{b.conn}, Events: b.conn, Logger: b.log}
}

type queue struct{ c *transport.Conn }

func (q queue) PublishTask(ctx context.Context, t actors.Task) error {
	_, err := q.c.PublishTask(ctx, t)
	return err
}

func newTask(taskType string, params string) actors.Task {
	t := actors.Task{
		ID: uuid.Must(uuid.NewV7()).String(), Name: "test", Type: taskType,
		Priority: actors.PriorityNormal, MaxAttempts: 3, CreatedAt: time.Now().UTC(),
	}
	if params != "" {
		t.Parameters = json.RawMessage(params)
	}
	return t
}

// waitStatus polls the store until the task is final.
func waitFinal(t *testing.T, tasks store.Tasks, id string) store.Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := tasks.Get(t.Context(), id)
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

type agentFunc func(context.Context, actors.Task) (actors.Result, error)

func (f agentFunc) Process(ctx context.Context, t actors.Task) (actors.Result, error) {
	return f(ctx, t)
}

func kind(name string, f agentFunc) actors.Kind {
	return actors.Kind{Name: name, TaskTypes: []string{name + "_job"}, New: func() actors.Agent { return f }}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var transientCalls atomic.Int64
	b.startNode(t, 300*time.Millisecond,
		kind("ok", func(_ context.Context, tk actors.Task) (actors.Result, error) {
			return actors.JSONResult(map[string]int{"attempt": tk.Attempt})
		}),
		kind("perm", func(context.Context, actors.Task) (actors.Result, error) {
			return actors.Result{}, actors.Permanent(errors.New("input can never work"))
		}),
		kind("flaky", func(context.Context, actors.Task) (actors.Result, error) {
			if transientCalls.Add(1) < 3 {
				return actors.Result{}, errors.New("model overloaded")
			}
			return actors.JSONResult(map[string]bool{"ok": true})
		}),
		kind("always", func(context.Context, actors.Task) (actors.Result, error) {
			return actors.Result{}, errors.New("still overloaded")
		}),
		kind("slow", func(ctx context.Context, _ actors.Task) (actors.Result, error) {
			<-ctx.Done()
			return actors.Result{}, ctx.Err()
		}),
		kind("notjson", func(context.Context, actors.Task) (actors.Result, error) {
			return actors.Result{Output: json.RawMessage(`[1,2]`)}, nil
		}),
	)
	sub := b.submitter()
	cases := []struct {
		kind     string
		status   actors.Status
		attempts int
		errLike  string
	}{
		{"ok", actors.StatusCompleted, 1, ""},
		{"perm", actors.StatusFailed, 1, "input can never work"},
		{"flaky", actors.StatusCompleted, 3, ""},
		{"always", actors.StatusFailed, 3, "still overloaded"},
		{"slow", actors.StatusTimeout, 1, "timed out"},
		{"notjson", actors.StatusFailed, 1, "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			task := newTask(tc.kind+"_job", "")
			if err := sub.Submit(t.Context(), task); err != nil {
				t.Fatal(err)
			}
			got := waitFinal(t, b.db.Tasks(), task.ID)
			if got.Status != tc.status || got.Attempts != tc.attempts {
				t.Errorf("status %s after %d attempts, want %s after %d (error %q)",
					got.Status, got.Attempts, tc.status, tc.attempts, got.ErrorMessage)
			}
			if tc.errLike != "" && !strings.Contains(got.ErrorMessage, tc.errLike) {
				t.Errorf("error message %q does not mention %q", got.ErrorMessage, tc.errLike)
			}
			if tc.status == actors.StatusCompleted && got.Result == nil {
				t.Error("completed without a result")
			}
		})
	}
}

// TestDuplicateMessageOneResult publishes the same task several times:
// the submission (which carries no Nats-Msg-Id), then, while the agent runs
// it, the copy a Sweeper publishes after a crash (the task id as message
// id, which the server therefore stores) and a copy with no message id,
// and once it has ended one more Sweeper copy. It expects one execution and
// one result.
func TestDuplicateMessageOneResult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	release := make(chan struct{})
	b.startNode(t, 10*time.Second, kind("dup", func(ctx context.Context, _ actors.Task) (actors.Result, error) {
		n := calls.Add(1)
		if n == 1 {
			<-release // hold the first copy so the second arrives while it runs
		}
		return actors.JSONResult(map[string]int64{"call": n})
	}))
	task := newTask("dup_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	// The copies come once the first holds the task in the store: its
	// start is recorded after the start delay (deferred.go).
	waitFor(t, func() bool {
		got, err := b.db.Tasks().Get(t.Context(), task.ID)
		return err == nil && got.Status == actors.StatusRunning
	})
	info, err := b.conn.JS().Stream(t.Context(), transport.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	first, err := info.GetMsg(t.Context(), info.CachedInfo().State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	if id := first.Header.Get(jetstream.MsgIDHeader); id != "" {
		t.Errorf("the submission's message has Nats-Msg-Id %q, want none", id)
	}
	sweptCopy := transport.WithRepublished(transport.WithCommittedRow(t.Context()))
	swept, err := b.conn.PublishTask(sweptCopy, task)
	if err != nil || swept.Duplicate {
		t.Fatalf("the sweeper's copy = %+v, %v; want a second message", swept, err)
	}
	b.publishRaw(t, task) // no message id
	// The copies are settled without running while the first holds the task.
	waitFor(t, func() bool {
		info, err := b.conn.JS().Stream(t.Context(), transport.StreamTasks)
		if err != nil {
			return false
		}
		return info.CachedInfo().State.Msgs == 1
	})
	close(release)
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || string(got.Result) != `{"call":1}` || got.Attempts != 1 {
		t.Errorf("got %s attempts=%d result=%s; want completed once by the first call", got.Status, got.Attempts, got.Result)
	}
	late, err := b.conn.PublishTask(transport.WithMessageID(sweptCopy, task.ID+".late"), task)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := info.GetMsg(t.Context(), late.Seq)
		return errors.Is(err, jetstream.ErrMsgNotFound) // settled
	})
	if n := calls.Load(); n != 1 {
		t.Errorf("agent ran %d times for one task", n)
	}
}

// TestSweeperRepublishesPending plays a crash between the commit and the
// publish: the row is pending, no message exists. The sweep queues it and it
// runs; a second sweep of a task whose message did arrive adds no copy.
func TestSweeperRepublishesPending(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls sync.Map
	b.startNode(t, 10*time.Second, kind("swept", func(_ context.Context, tk actors.Task) (actors.Result, error) {
		n, _ := calls.LoadOrStore(tk.ID, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return actors.JSONResult(map[string]bool{"ok": true})
	}))
	lost := newTask("swept_job", "")
	if err := b.db.Tasks().Create(t.Context(), lost); err != nil {
		t.Fatal(err)
	}
	// A task whose publish happened but whose queued mark did not.
	published := newTask("swept_job", "")
	if err := b.db.Tasks().Create(t.Context(), published); err != nil {
		t.Fatal(err)
	}
	if _, err := b.conn.PublishTask(t.Context(), published); err != nil {
		t.Fatal(err)
	}
	sw := &runner.Sweeper{Tasks: b.db.Tasks(), Queue: queue{b.conn}, Logger: b.log, Age: time.Nanosecond}
	if _, err := sw.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{lost.ID, published.ID} {
		if got := waitFinal(t, b.db.Tasks(), id); got.Status != actors.StatusCompleted || got.Attempts != 1 {
			t.Errorf("task %s: %s after %d attempts", id, got.Status, got.Attempts)
		}
		if n, _ := calls.Load(id); n == nil || n.(*atomic.Int64).Load() != 1 {
			t.Errorf("task %s ran %v times, want once", id, n)
		}
	}
	if n, err := sw.Sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("second sweep republished %d (err %v), want 0", n, err)
	}
}

// TestSubmitWithoutQueue: when the queue cannot take the message the
// submission fails with an error the gateway maps to 503, and the task is
// not left to run behind the caller's back.
func TestSubmitWithoutQueue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.conn.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	task := newTask("none_job", "")
	err := b.submitter().Submit(t.Context(), task)
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, runner.ErrQueueUnavailable) {
		t.Fatalf("submit with NATS closed: %v; want ErrUnavailable and ErrQueueUnavailable", err)
	}
	got, err := b.db.Tasks().Get(t.Context(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != actors.StatusFailed {
		t.Errorf("task left %s, want failed so the sweeper does not run it", got.Status)
	}
	if pending, _ := b.db.Tasks().Pending(t.Context(), time.Now().Add(time.Hour), 10); len(pending) != 0 {
		t.Errorf("%d tasks left pending", len(pending))
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	for attempt := 1; attempt <= 12; attempt++ {
		full := time.Duration(float64(time.Second) * pow(2, attempt))
		full = min(full, 5*time.Minute)
		for range 50 {
			d := runner.RetryDelay(2, attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
}

func pow(b float64, n int) float64 {
	r := 1.0
	for range n {
		r *= b
	}
	return r
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
