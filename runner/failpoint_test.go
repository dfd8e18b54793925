package runner_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/transport"
)

// TestFailpointBetweenCommitAndPublish hits the crash window between the
// row's commit and the message's publish 1,000 times: every task is left
// queued with no message and its batch's outbox entry in place, as after a
// process death there. The Sweeper must republish each, so every task
// completes, none stays queued more than 10 s, and each runs once.
func TestFailpointBetweenCommitAndPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 tasks")
	}
	t.Parallel()
	b := setup(t)
	// Eight workers, so that the wait measured is the crash window's and
	// not a backlog of workers.
	b.runNode(t, runner.NodeConfig{
		Workers: 8,
		Kinds: []actors.Kind{kind("fp", func(_ context.Context, tk actors.Task) (actors.Result, error) {
			return actors.JSONResult(map[string]int{"attempt": tk.Attempt})
		})},
		TaskTimeout: 10 * time.Second, AckWait: 5 * time.Second, Logger: b.log,
	})
	sweeper := &runner.Sweeper{Tasks: b.db.Tasks(), Queue: queue{b.conn}, Logger: b.log,
		Interval: 200 * time.Millisecond, Age: time.Second}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = sweeper.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })

	sub := b.submitter()
	errCrash := errors.New("process died between commit and publish")
	runner.SetBeforePublish(sub, func() error { return errCrash })
	const n = 1000
	ids := make([]string, 0, n)
	for range n {
		tk := newTask("fp_job", "")
		if err := sub.Submit(t.Context(), tk); !errors.Is(err, errCrash) {
			t.Fatalf("failpoint not hit: %v", err)
		}
		ids = append(ids, tk.ID)
	}

	var worst time.Duration
	for _, id := range ids {
		got := waitFinal(t, b.db.Tasks(), id)
		if got.Status != actors.StatusCompleted || got.Attempts != 1 {
			t.Errorf("task %s: %s after %d attempts: %s", id, got.Status, got.Attempts, got.ErrorMessage)
			continue
		}
		// Time spent pending or queued: from creation to the start.
		if wait := got.StartedAt.Sub(got.CreatedAt); wait > worst {
			worst = wait
		}
	}
	t.Logf("%d tasks through the failpoint; longest wait before starting %v", n, worst)
	if worst > 10*time.Second {
		t.Errorf("a task waited %v before starting, want at most 10 s", worst)
	}
}

// TestFailpointOutboxSweep: a submit batch committed but never published
// leaves its tasks queued, not pending, so only its outbox entry leads the
// Sweeper to them; one sweep publishes each, clears the entry, and every
// task runs exactly once.
func TestFailpointOutboxSweep(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	calls := map[string]int{}
	b.startNode(t, 10*time.Second, kind("ob", func(_ context.Context, tk actors.Task) (actors.Result, error) {
		mu.Lock()
		calls[tk.ID]++
		mu.Unlock()
		return actors.JSONResult(map[string]bool{"ok": true})
	}))
	sub := b.submitter()
	errCrash := errors.New("process died between commit and publish")
	runner.SetBeforePublish(sub, func() error { return errCrash })
	ts := make([]actors.Task, 5)
	var wg sync.WaitGroup
	for i := range ts {
		ts[i] = newTask("ob_job", "")
		wg.Go(func() {
			if err := sub.Submit(t.Context(), ts[i]); !errors.Is(err, errCrash) {
				t.Errorf("failpoint not hit: %v", err)
			}
		})
	}
	wg.Wait()

	tasks := b.db.Tasks()
	late := time.Now().Add(time.Hour)
	for _, tk := range ts {
		got, err := tasks.Get(t.Context(), tk.ID)
		if err != nil || got.Status != actors.StatusQueued {
			t.Fatalf("task %s after the failpoint: %s, %v; want queued", tk.ID, got.Status, err)
		}
	}
	if pending, err := tasks.Pending(t.Context(), late, 100); err != nil || len(pending) != 0 {
		t.Fatalf("pending tasks %d (%v), want none: the outbox alone must lead to them", len(pending), err)
	}
	entries, err := tasks.Outbox(t.Context(), late, 100)
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, e := range entries {
		listed += len(e.Tasks)
	}
	if listed != len(ts) {
		t.Fatalf("outbox lists %d tasks in %d entries, want %d", listed, len(entries), len(ts))
	}

	sw := &runner.Sweeper{Tasks: tasks, Queue: queue{b.conn}, Logger: b.log, Age: time.Nanosecond}
	if n, err := sw.Sweep(t.Context()); err != nil || n != len(ts) {
		t.Fatalf("sweep published %d (err %v), want %d", n, err, len(ts))
	}
	if entries, err := tasks.Outbox(t.Context(), late, 100); err != nil || len(entries) != 0 {
		t.Errorf("outbox after the sweep: %d entries (%v), want none", len(entries), err)
	}
	if n, err := sw.Sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("second sweep published %d (err %v), want 0", n, err)
	}
	for _, tk := range ts {
		if got := waitFinal(t, tasks, tk.ID); got.Status != actors.StatusCompleted || got.Attempts != 1 {
			t.Errorf("task %s: %s after %d attempts", tk.ID, got.Status, got.Attempts)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, tk := range ts {
		if calls[tk.ID] != 1 {
			t.Errorf("task %s ran %d times, want once", tk.ID, calls[tk.ID])
		}
	}
}

// TestSweeperCopiesAreMarked: what the Sweeper publishes, for an outbox
// entry left by a crash and for a pending row, may repeat a message that
// did reach the stream, so it carries HeaderRepublished (its delivery asks
// the store before running anything) and the task id as message id (the
// copies of two gateways' sweeps are one).
func TestSweeperCopiesAreMarked(t *testing.T) {
	t.Parallel()
	b := setup(t) // no node: the messages stay in the stream to be read
	sub := b.submitter()
	runner.SetBeforePublish(sub, func() error { return errors.New("process died between commit and publish") })
	queued := newTask("marked_job", "")
	if err := sub.Submit(t.Context(), queued); err == nil {
		t.Fatal("failpoint not hit")
	}
	pending := newTask("marked_job", "")
	if err := b.db.Tasks().Create(t.Context(), pending); err != nil {
		t.Fatal(err)
	}
	sw := &runner.Sweeper{Tasks: b.db.Tasks(), Queue: queue{b.conn}, Logger: b.log, Age: time.Nanosecond}
	if n, err := sw.Sweep(t.Context()); err != nil || n != 2 {
		t.Fatalf("sweep published %d (err %v), want 2", n, err)
	}
	stream, err := b.conn.JS().Stream(t.Context(), transport.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for seq := uint64(1); seq <= stream.CachedInfo().State.LastSeq; seq++ {
		m, err := stream.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		task, err := transport.DecodeTask(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		seen[task.ID] = true
		if got := m.Header.Get(jetstream.MsgIDHeader); got != task.ID {
			t.Errorf("copy of %s has Nats-Msg-Id %q, want the task id", task.ID, got)
		}
		if m.Header.Get(transport.HeaderRepublished) == "" || m.Header.Get(transport.HeaderRowCommitted) == "" {
			t.Errorf("copy of %s lacks %s or %s: %v", task.ID, transport.HeaderRepublished, transport.HeaderRowCommitted, m.Header)
		}
	}
	if !seen[queued.ID] || !seen[pending.ID] || len(seen) != 2 {
		t.Errorf("stream holds copies of %v, want exactly %s and %s", seen, queued.ID, pending.ID)
	}
}
