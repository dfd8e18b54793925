package storetest

import (
	"errors"
	"testing"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// testTaskControl covers the attempt history and the transitions that end
// a task from outside its attempt: Cancel, DeadLetter and Revive.
func testTaskControl(t *testing.T, s store.Store) {
	tasks := s.Tasks()

	t.Run("AttemptHistory", func(t *testing.T) {
		t.Parallel()
		task := newTask(t, s, "")
		list, err := tasks.Attempts(t.Context(), task.ID)
		ok(t, "attempts", err)
		equal(t, "attempts before a start", len(list), 0)

		_, err = tasks.Start(t.Context(), task.ID, 7, atSec(1))
		ok(t, "start", err)
		ok(t, "requeue", tasks.Requeue(t.Context(), task.ID, 7, "model overloaded", atSec(2)))
		_, err = tasks.Start(t.Context(), task.ID, 7, atSec(3))
		ok(t, "start again", err)
		// The same message again while running: the delivery before it
		// crashed without an outcome.
		_, err = tasks.Start(t.Context(), task.ID, 7, atSec(4))
		ok(t, "redelivery", err)
		// The attempt still running is in the history as the ended ones are.
		list, err = tasks.Attempts(t.Context(), task.ID)
		ok(t, "attempts", err)
		equal(t, "attempts while running", list, []store.Attempt{
			{Attempt: 1, Lease: 7, Status: "failed", Error: "model overloaded", StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
			{Attempt: 2, Lease: 7, Status: store.AttemptCrashed,
				Error:     "the attempt ended without an outcome: its worker crashed or lost its lease",
				StartedAt: atSec(3), FinishedAt: ptr(atSec(4))},
			{Attempt: 3, Lease: 7, Status: "running", StartedAt: atSec(4)},
		})
		ok(t, "finish", tasks.Finish(t.Context(), task.ID, 7, store.Outcome{Status: actors.StatusCompleted, Result: []byte(`{"ok":true}`)}, atSec(5)))

		list, err = tasks.Attempts(t.Context(), task.ID)
		ok(t, "attempts", err)
		equal(t, "attempts", list, []store.Attempt{
			{Attempt: 1, Lease: 7, Status: "failed", Error: "model overloaded", StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
			{Attempt: 2, Lease: 7, Status: store.AttemptCrashed,
				Error:     "the attempt ended without an outcome: its worker crashed or lost its lease",
				StartedAt: atSec(3), FinishedAt: ptr(atSec(4))},
			{Attempt: 3, Lease: 7, Status: "completed", StartedAt: atSec(4), FinishedAt: ptr(atSec(5))},
		})

		// A refused transition writes no history.
		err = tasks.Finish(t.Context(), task.ID, 7, store.Outcome{Status: actors.StatusFailed}, atSec(6))
		isErr(t, "finish twice", err, store.ErrConflict)
		again, err := tasks.Attempts(t.Context(), task.ID)
		ok(t, "attempts", err)
		equal(t, "attempts after a refused finish", again, list)

		list, err = tasks.Attempts(t.Context(), newID())
		ok(t, "attempts of nothing", err)
		equal(t, "attempts of nothing", len(list), 0)
	})

	t.Run("GetWithAttempts", func(t *testing.T) {
		t.Parallel()
		task := newTask(t, s, "")
		got, list, err := tasks.GetWithAttempts(t.Context(), task.ID)
		ok(t, "get with attempts", err)
		want, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		equal(t, "task before a start", got, want)
		equal(t, "attempts before a start", len(list), 0)

		_, err = tasks.Start(t.Context(), task.ID, 9, atSec(1))
		ok(t, "start", err)
		ok(t, "requeue", tasks.Requeue(t.Context(), task.ID, 9, "flaky", atSec(2)))
		_, err = tasks.Start(t.Context(), task.ID, 10, atSec(3))
		ok(t, "start again", err)
		got, list, err = tasks.GetWithAttempts(t.Context(), task.ID)
		ok(t, "get with attempts", err)
		want, err = tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		wantList, err := tasks.Attempts(t.Context(), task.ID)
		ok(t, "attempts", err)
		equal(t, "task", got, want)
		equal(t, "attempts", list, wantList)
		equal(t, "attempts", list, []store.Attempt{
			{Attempt: 1, Lease: 9, Status: "failed", Error: "flaky", StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
			{Attempt: 2, Lease: 10, Status: "running", StartedAt: atSec(3)},
		})
		// Once it ends, the attempt reads the same, finished.
		ok(t, "finish", tasks.Finish(t.Context(), task.ID, 10, store.Outcome{Status: actors.StatusFailed, ErrorMessage: "bad input"}, atSec(4)))
		_, list, err = tasks.GetWithAttempts(t.Context(), task.ID)
		ok(t, "get with attempts", err)
		equal(t, "attempts after the finish", list, []store.Attempt{
			{Attempt: 1, Lease: 9, Status: "failed", Error: "flaky", StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
			{Attempt: 2, Lease: 10, Status: "failed", Error: "bad input", StartedAt: atSec(3), FinishedAt: ptr(atSec(4))},
		})

		_, _, err = tasks.GetWithAttempts(t.Context(), newID())
		isErr(t, "get with attempts of nothing", err, store.ErrNotFound)
		_, _, err = tasks.GetWithAttempts(t.Context(), "not-a-uuid")
		isErr(t, "get with attempts of a malformed id", err, store.ErrNotFound)
	})

	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		pending := newTask(t, s, "")
		queued := newTask(t, s, "")
		ok(t, "queue", tasks.MarkQueued(t.Context(), queued.ID))
		for _, id := range []string{pending.ID, queued.ID} {
			got, err := tasks.Cancel(t.Context(), id, atSec(1))
			ok(t, "cancel", err)
			if got.Status != actors.StatusCancelled || got.CompletedAt == nil || !got.CompletedAt.Equal(atSec(1)) {
				t.Errorf("cancelled task: status %s completed_at %v", got.Status, got.CompletedAt)
			}
			_, err = tasks.Start(t.Context(), id, 1, atSec(2))
			isErr(t, "start a cancelled task", err, store.ErrConflict)
		}

		running := newTask(t, s, "")
		_, err := tasks.Start(t.Context(), running.ID, 3, atSec(1))
		ok(t, "start", err)
		got, err := tasks.Cancel(t.Context(), running.ID, atSec(2))
		ok(t, "cancel running", err)
		equal(t, "cancel leaves a running task", got.Status, actors.StatusRunning)
		// The runtime then records the cancellation as the attempt's outcome.
		ok(t, "finish cancelled", tasks.Finish(t.Context(), running.ID, 3, store.Outcome{Status: actors.StatusCancelled, ErrorMessage: "cancelled"}, atSec(3)))
		list, err := tasks.Attempts(t.Context(), running.ID)
		ok(t, "attempts", err)
		if len(list) != 1 || list[0].Status != "cancelled" {
			t.Errorf("attempts of a cancelled run: %+v", list)
		}

		got, err = tasks.Cancel(t.Context(), running.ID, atSec(4))
		isErr(t, "cancel final", err, store.ErrConflict)
		equal(t, "a final task comes back as stored", got.Status, actors.StatusCancelled)

		_, err = tasks.Cancel(t.Context(), newID(), atSec(1))
		isErr(t, "cancel unknown", err, store.ErrNotFound)
		_, err = tasks.Cancel(t.Context(), "not-a-uuid", atSec(1))
		isErr(t, "cancel malformed", err, store.ErrNotFound)
	})

	t.Run("DeadLetterAndRevive", func(t *testing.T) {
		t.Parallel()
		running := newTask(t, s, "", func(tk *actors.Task) { tk.MaxAttempts = 3 })
		_, err := tasks.Start(t.Context(), running.ID, 9, atSec(1))
		ok(t, "start", err)
		ok(t, "dead-letter", tasks.DeadLetter(t.Context(), running.ID, "delivered 5 times without an outcome", atSec(2)))
		got, err := tasks.Get(t.Context(), running.ID)
		ok(t, "get", err)
		if got.Status != actors.StatusDeadLetter || got.ErrorMessage != "delivered 5 times without an outcome" || got.CompletedAt == nil {
			t.Errorf("dead-lettered task: %s %q %v", got.Status, got.ErrorMessage, got.CompletedAt)
		}
		list, err := tasks.Attempts(t.Context(), running.ID)
		ok(t, "attempts", err)
		equal(t, "attempts of a dead-lettered run", list, []store.Attempt{
			{Attempt: 1, Lease: 9, Status: "dead_letter", Error: "delivered 5 times without an outcome",
				StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
		})
		isErr(t, "dead-letter twice", tasks.DeadLetter(t.Context(), running.ID, "again", atSec(3)), store.ErrConflict)

		// Replay: back to pending with its attempts, then it runs again.
		ok(t, "revive", tasks.Revive(t.Context(), running.ID, atSec(4)))
		got, err = tasks.Get(t.Context(), running.ID)
		ok(t, "get", err)
		if got.Status != actors.StatusPending || got.Attempts != 1 || got.CompletedAt != nil {
			t.Errorf("revived task: %s attempts %d completed_at %v", got.Status, got.Attempts, got.CompletedAt)
		}
		isErr(t, "revive twice", tasks.Revive(t.Context(), running.ID, atSec(5)), store.ErrConflict)
		ok(t, "queue", tasks.MarkQueued(t.Context(), running.ID))
		st, err := tasks.Start(t.Context(), running.ID, 20, atSec(6))
		ok(t, "start after revive", err)
		equal(t, "attempts after revive", st.Attempts, 2)
		// The first attempt, which only the task row described while the
		// task was dead-lettered, is kept when the row moves on.
		list, err = tasks.Attempts(t.Context(), running.ID)
		ok(t, "attempts", err)
		equal(t, "attempts of a replayed task", list, []store.Attempt{
			{Attempt: 1, Lease: 9, Status: "dead_letter", Error: "delivered 5 times without an outcome",
				StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
			{Attempt: 2, Lease: 20, Status: "running", StartedAt: atSec(6)},
		})

		queued := newTask(t, s, "")
		ok(t, "queue", tasks.MarkQueued(t.Context(), queued.ID))
		ok(t, "dead-letter queued", tasks.DeadLetter(t.Context(), queued.ID, "gone", atSec(1)))
		for _, st := range finals {
			if st == actors.StatusDeadLetter {
				continue
			}
			task := newTask(t, s, "")
			_, err := tasks.Start(t.Context(), task.ID, 1, atSec(1))
			ok(t, "start", err)
			ok(t, "finish", tasks.Finish(t.Context(), task.ID, 1, store.Outcome{Status: st}, atSec(2)))
			isErr(t, "dead-letter "+string(st), tasks.DeadLetter(t.Context(), task.ID, "x", atSec(3)), store.ErrConflict)
			isErr(t, "revive "+string(st), tasks.Revive(t.Context(), task.ID, atSec(3)), store.ErrConflict)
		}
		err = tasks.DeadLetter(t.Context(), newID(), "x", atSec(1))
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("dead-letter unknown: %v", err)
		}
		isErr(t, "revive unknown", tasks.Revive(t.Context(), newID(), atSec(1)), store.ErrNotFound)
	})
}
