package runner_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

func (b *bundle) canceller() *runner.Canceller {
	return &runner.Canceller{Tasks: b.db.Tasks(), Nodes: b.conn, Events: b.conn, Logger: b.log}
}

// streamEmpty reports whether YMERA_TASKS holds no message: every delivery
// was acknowledged, so none can come again.
func (b *bundle) streamEmpty(t *testing.T) bool {
	s, err := b.conn.JS().Stream(t.Context(), transport.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs == 0
}

// TestCancelQueuedNeverRuns cancels a task before any agent runs: it is
// cancelled at once, and its message is acknowledged without effect when a
// worker takes it.
func TestCancelQueuedNeverRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	task := newTask("later_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	got, err := b.canceller().Cancel(t.Context(), task.ID)
	if err != nil || got.Status != actors.StatusCancelled {
		t.Fatalf("cancel queued: %s, %v", got.Status, err)
	}
	var calls atomic.Int64
	b.startNode(t, 10*time.Second, kind("later", func(context.Context, actors.Task) (actors.Result, error) {
		calls.Add(1)
		return actors.JSONResult(map[string]bool{"ok": true})
	}))
	waitFor(t, func() bool { return b.streamEmpty(t) })
	if n := calls.Load(); n != 0 {
		t.Errorf("agent ran %d times for a cancelled task", n)
	}
	final, err := b.db.Tasks().Get(t.Context(), task.ID)
	if err != nil || final.Status != actors.StatusCancelled || final.Attempts != 0 {
		t.Errorf("task after its message was taken: %s attempts %d, %v", final.Status, final.Attempts, err)
	}
}

// TestCancelRunning cancels a long task while its agent works: the agent
// sees its context cancelled, the task ends cancelled, and the message is
// acknowledged, not delivered again. Cancelling it again is a conflict.
func TestCancelRunning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	running := make(chan struct{}, 1)
	sawCause := make(chan error, 1)
	b.startNode(t, time.Minute, kind("long", func(ctx context.Context, _ actors.Task) (actors.Result, error) {
		calls.Add(1)
		running <- struct{}{}
		select {
		case <-ctx.Done():
			sawCause <- context.Cause(ctx)
			return actors.Result{}, ctx.Err()
		case <-time.After(30 * time.Second):
			return actors.JSONResult(map[string]bool{"finished": true})
		}
	}))
	task := newTask("long_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatal("the task did not start within 10 s")
	}
	// Its start is recorded once it has run for the start delay
	// (deferred.go); from then on the store says running.
	waitFor(t, func() bool {
		got, err := b.db.Tasks().Get(t.Context(), task.ID)
		return err == nil && got.Status == actors.StatusRunning
	})
	got, err := b.canceller().Cancel(t.Context(), task.ID)
	if err != nil || got.Status != actors.StatusRunning {
		t.Fatalf("cancel running: %s, %v; want the running task back", got.Status, err)
	}
	select {
	case cause := <-sawCause:
		if !errors.Is(cause, runner.ErrCancelled) {
			t.Errorf("agent's context ended with %v, want ErrCancelled", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent's context was not cancelled within 10 s")
	}
	final := waitFinal(t, b.db.Tasks(), task.ID)
	if final.Status != actors.StatusCancelled || final.Result != nil {
		t.Errorf("task ended %s with result %s, want cancelled without one", final.Status, final.Result)
	}
	waitFor(t, func() bool { return b.streamEmpty(t) })
	if n := calls.Load(); n != 1 {
		t.Errorf("agent ran %d times, want 1", n)
	}
	attempts, err := b.db.Tasks().Attempts(t.Context(), task.ID)
	if err != nil || len(attempts) != 1 || attempts[0].Status != string(actors.StatusCancelled) {
		t.Errorf("attempts %+v, %v; want one cancelled", attempts, err)
	}

	_, err = b.canceller().Cancel(t.Context(), task.ID)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("cancel a cancelled task: %v, want ErrConflict", err)
	}
}

// TestCancelCompletedConflicts: a final task cannot be cancelled.
func TestCancelCompletedConflicts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startNode(t, 10*time.Second, kind("quick", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]bool{"ok": true})
	}))
	task := newTask("quick_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	waitFinal(t, b.db.Tasks(), task.ID)
	got, err := b.canceller().Cancel(t.Context(), task.ID)
	if !errors.Is(err, store.ErrConflict) || got.Status != actors.StatusCompleted {
		t.Errorf("cancel completed: %s, %v; want completed and ErrConflict", got.Status, err)
	}
}
