package runner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
)

// TestFailpointBetweenCommitAndPublish hits the crash window between the
// row's commit and the message's publish 1,000 times: every task is left
// pending with no message, as after a process death there. The Sweeper must
// republish each, so every task completes, none stays pending or queued
// more than 10 s, and each runs once.
func TestFailpointBetweenCommitAndPublish(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 tasks")
	}
	t.Parallel()
	b := setup(t)
	// Eight workers, so that the wait measured is the crash window's and
	// not a backlog of workers.
	n0, err := runner.StartNode(t.Context(), runner.NodeConfig{
		Conn: b.conn, Tasks: b.db.Tasks(), Supervisor: b.sup, Workers: 8,
		Kinds: []actors.Kind{kind("fp", func(_ context.Context, tk actors.Task) (actors.Result, error) {
			return actors.JSONResult(map[string]int{"attempt": tk.Attempt})
		})},
		TaskTimeout: 10 * time.Second, AckWait: 5 * time.Second, Logger: b.log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n0.Stop(ctx)
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
