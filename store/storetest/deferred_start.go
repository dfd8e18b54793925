package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// testDeferredStart holds Finish and FinishBatch to Outcome.StartedAt: the
// outcome of an attempt whose start no Start recorded ends a task never
// started in one write, counting the attempt and its start; a task running
// under the lease takes it as it would without StartedAt; any other task
// refuses it, as Finish refuses an outcome today.
func testDeferredStart(t *testing.T, s store.Store) {
	tasks := s.Tasks()
	// Each case runs through Finish and through a FinishBatch of one item.
	finishers := []struct {
		name   string
		finish func(t *testing.T, id string, lease int64, o store.Outcome, now time.Time) error
	}{
		{"Finish", func(t *testing.T, id string, lease int64, o store.Outcome, now time.Time) error {
			return tasks.Finish(t.Context(), id, lease, o, now)
		}},
		{"FinishBatch", func(t *testing.T, id string, lease int64, o store.Outcome, now time.Time) error {
			errs, err := tasks.FinishBatch(t.Context(), []store.Finished{{ID: id, Lease: lease, Outcome: o, At: now}})
			ok(t, "finish batch", err)
			return errs[0]
		}},
	}
	queue := func(t *testing.T, id string) { ok(t, "queue", tasks.MarkQueued(t.Context(), id)) }

	// One write takes a pending or queued task to its outcome. The history
	// is the one attempt the row describes, from StartedAt: a row in
	// task_attempts (a trigger fired) would stand in its place with the
	// start the trigger saw, the task's updated_at before the write.
	t.Run("NeverStarted", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name  string
			setup func(t *testing.T, id string)
			o     store.Outcome
		}{
			{"pending", func(*testing.T, string) {}, store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"ok": true}`)}},
			{"queued", queue, store.Outcome{Status: actors.StatusFailed, ErrorMessage: "model refused"}},
		}
		for _, f := range finishers {
			for _, tc := range cases {
				what := f.name + " " + tc.name
				task := newTask(t, s, "")
				tc.setup(t, task.ID)
				o := tc.o
				o.StartedAt = atSec(1)
				ok(t, what, f.finish(t, task.ID, 9, o, atSec(2)))

				got, list, err := tasks.GetWithAttempts(t.Context(), task.ID)
				ok(t, "get with attempts", err)
				if got.Status != o.Status || got.Attempts != 1 || got.Lease != 9 || got.ErrorMessage != o.ErrorMessage ||
					got.StartedAt == nil || !got.StartedAt.Equal(atSec(1)) || got.CompletedAt == nil ||
					!got.CompletedAt.Equal(atSec(2)) || !got.UpdatedAt.Equal(atSec(2)) {
					t.Errorf("%s: %+v; want %s, attempt 1 under lease 9, started at %v, completed at %v",
						what, got, o.Status, atSec(1), atSec(2))
				}
				if o.Result == nil {
					equal(t, what+": no result", got.Result, json.RawMessage(nil))
				} else {
					equal(t, what+": result", string(canonJSON(t, got.Result)), string(canonJSON(t, o.Result)))
				}
				equal(t, what+": attempts", list, []store.Attempt{
					{Attempt: 1, Lease: 9, Status: string(o.Status), Error: o.ErrorMessage, StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
				})
				isErr(t, what+": twice", f.finish(t, task.ID, 9, o, atSec(3)), store.ErrConflict)
			}
		}
	})

	// Running under the lease: the outcome applies as usual, the attempt
	// count and the first start stay; a later attempt is written to the
	// history as without StartedAt.
	t.Run("Running", func(t *testing.T) {
		t.Parallel()
		for _, f := range finishers {
			first := newTask(t, s, "")
			_, err := tasks.Start(t.Context(), first.ID, 9, atSec(1))
			ok(t, "start", err)
			o := store.Outcome{Status: actors.StatusCompleted, StartedAt: atSec(3)}
			ok(t, f.name+" first attempt", f.finish(t, first.ID, 9, o, atSec(4)))
			got, list, err := tasks.GetWithAttempts(t.Context(), first.ID)
			ok(t, "get with attempts", err)
			if got.Status != actors.StatusCompleted || got.Attempts != 1 || got.Lease != 9 ||
				got.StartedAt == nil || !got.StartedAt.Equal(atSec(1)) || !got.UpdatedAt.Equal(atSec(4)) {
				t.Errorf("%s first attempt: %+v; want completed, attempt 1 under lease 9, started at %v",
					f.name, got, atSec(1))
			}
			equal(t, f.name+" first attempt: attempts", list, []store.Attempt{
				{Attempt: 1, Lease: 9, Status: "completed", StartedAt: atSec(1), FinishedAt: ptr(atSec(4))},
			})

			second := newTask(t, s, "")
			_, err = tasks.Start(t.Context(), second.ID, 9, atSec(1))
			ok(t, "start", err)
			_, err = tasks.Start(t.Context(), second.ID, 9, atSec(2)) // redelivered: attempt 2
			ok(t, "start again", err)
			ok(t, f.name+" second attempt", f.finish(t, second.ID, 9, o, atSec(4)))
			got, list, err = tasks.GetWithAttempts(t.Context(), second.ID)
			ok(t, "get with attempts", err)
			if got.Status != actors.StatusCompleted || got.Attempts != 2 || got.StartedAt == nil || !got.StartedAt.Equal(atSec(1)) {
				t.Errorf("%s second attempt: %+v; want completed, attempts 2, started at %v", f.name, got, atSec(1))
			}
			equal(t, f.name+" second attempt: attempts", list, []store.Attempt{
				{Attempt: 1, Lease: 9, Status: store.AttemptCrashed,
					Error:     "the attempt ended without an outcome: its worker crashed or lost its lease",
					StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
				{Attempt: 2, Lease: 9, Status: "completed", StartedAt: atSec(2), FinishedAt: ptr(atSec(4))},
			})
		}
	})

	// Anything else is refused as Finish refuses it, and left as it was.
	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		started := store.Outcome{Status: actors.StatusCompleted, StartedAt: atSec(5)}
		cases := []struct {
			name  string
			setup func(t *testing.T, id string)
			o     store.Outcome
		}{
			{"queued for a retry", func(t *testing.T, id string) {
				_, err := tasks.Start(t.Context(), id, 9, atSec(1))
				ok(t, "start", err)
				ok(t, "requeue", tasks.Requeue(t.Context(), id, 9, "flaky", atSec(2)))
			}, started},
			{"cancelled", func(t *testing.T, id string) {
				_, err := tasks.Cancel(t.Context(), id, atSec(1))
				ok(t, "cancel", err)
			}, started},
			{"running under another lease", func(t *testing.T, id string) {
				_, err := tasks.Start(t.Context(), id, 8, atSec(1))
				ok(t, "start", err)
			}, started},
			{"completed", func(t *testing.T, id string) {
				ok(t, "finish", tasks.Finish(t.Context(), id, 9, started, atSec(1)))
			}, started},
			{"queued, without StartedAt", queue, store.Outcome{Status: actors.StatusCompleted}},
			{"pending, without StartedAt", func(*testing.T, string) {}, store.Outcome{Status: actors.StatusCompleted}},
		}
		for _, f := range finishers {
			for _, tc := range cases {
				what := f.name + " " + tc.name
				task := newTask(t, s, "")
				tc.setup(t, task.ID)
				before, err := tasks.Get(t.Context(), task.ID)
				ok(t, "get", err)
				isErr(t, what, f.finish(t, task.ID, 9, tc.o, atSec(6)), store.ErrConflict)
				after, err := tasks.Get(t.Context(), task.ID)
				ok(t, "get", err)
				equal(t, what+": task after a refused finish", after, before)
			}
			isErr(t, f.name+" unknown", f.finish(t, newID(), 9, started, atSec(6)), store.ErrNotFound)
		}
	})

	// In a batch, each item as Finish would take it, in turn.
	t.Run("Batch", func(t *testing.T) {
		t.Parallel()
		fresh, twice := newTask(t, s, ""), newTask(t, s, "")
		queue(t, fresh.ID)
		queue(t, twice.ID)
		ordinary, retried, cancelled, other := newTask(t, s, ""), newTask(t, s, ""), newTask(t, s, ""), newTask(t, s, "")
		_, err := tasks.Start(t.Context(), ordinary.ID, 5, atSec(1))
		ok(t, "start", err)
		_, err = tasks.Start(t.Context(), retried.ID, 7, atSec(1))
		ok(t, "start", err)
		ok(t, "requeue", tasks.Requeue(t.Context(), retried.ID, 7, "flaky", atSec(2)))
		_, err = tasks.Cancel(t.Context(), cancelled.ID, atSec(1))
		ok(t, "cancel", err)
		_, err = tasks.Start(t.Context(), other.ID, 10, atSec(1))
		ok(t, "start", err)

		done := store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"ok": true}`)}
		started := done
		started.StartedAt = atSec(3)
		items := []store.Finished{
			{ID: ordinary.ID, Lease: 5, Outcome: done, At: atSec(4)},     // running under the lease
			{ID: fresh.ID, Lease: 6, Outcome: started, At: atSec(4)},     // never started
			{ID: retried.ID, Lease: 8, Outcome: started, At: atSec(4)},   // queued, with an attempt
			{ID: cancelled.ID, Lease: 9, Outcome: started, At: atSec(4)}, // final
			{ID: other.ID, Lease: 11, Outcome: started, At: atSec(4)},    // running under another lease
			{ID: newID(), Lease: 12, Outcome: started, At: atSec(4)},     // no such task
			{ID: twice.ID, Lease: 13, Outcome: started, At: atSec(4)},    // never started
			{ID: twice.ID, Lease: 13, Outcome: started, At: atSec(5)},    // the same again: final now
		}
		errs, err := tasks.FinishBatch(t.Context(), items)
		ok(t, "finish batch", err)
		want := []error{nil, nil, store.ErrConflict, store.ErrConflict, store.ErrConflict, store.ErrNotFound, nil, store.ErrConflict}
		equal(t, "per-item errors", len(errs), len(want))
		for i, w := range want {
			what := fmt.Sprintf("item %d", i)
			if w == nil {
				ok(t, what, errs[i])
			} else {
				isErr(t, what, errs[i], w)
			}
		}

		type state struct {
			Status    actors.Status
			Attempts  int
			Lease     int64
			StartedAt *time.Time
			UpdatedAt time.Time
		}
		for _, c := range []struct {
			id   string
			want state
		}{
			{ordinary.ID, state{actors.StatusCompleted, 1, 5, ptr(atSec(1)), atSec(4)}},
			{fresh.ID, state{actors.StatusCompleted, 1, 6, ptr(atSec(3)), atSec(4)}},
			{twice.ID, state{actors.StatusCompleted, 1, 13, ptr(atSec(3)), atSec(4)}},
			{retried.ID, state{actors.StatusQueued, 1, 7, ptr(atSec(1)), atSec(2)}},
			{cancelled.ID, state{actors.StatusCancelled, 0, 0, nil, atSec(1)}},
			{other.ID, state{actors.StatusRunning, 1, 10, ptr(atSec(1)), atSec(1)}},
		} {
			got, err := tasks.Get(t.Context(), c.id)
			ok(t, "get", err)
			equal(t, "task "+c.id, state{got.Status, got.Attempts, got.Lease, got.StartedAt, got.UpdatedAt}, c.want)
		}
		list, err := tasks.Attempts(t.Context(), fresh.ID)
		ok(t, "attempts", err)
		equal(t, "attempts of the task never started", list, []store.Attempt{
			{Attempt: 1, Lease: 6, Status: "completed", StartedAt: atSec(3), FinishedAt: ptr(atSec(4))},
		})
	})
}
