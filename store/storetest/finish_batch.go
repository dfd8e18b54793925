package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// testFinishBatch holds FinishBatch to Finish's contract, item by item: a
// batch is the same as calling Finish on each item in turn.
func testFinishBatch(t *testing.T, s store.Store) {
	tasks := s.Tasks()
	now := time.Now()
	running := func(t *testing.T, lease int64) actors.Task {
		t.Helper()
		task := newTask(t, s, "")
		_, err := tasks.Start(t.Context(), task.ID, lease, now)
		ok(t, "start", err)
		return task
	}

	t.Run("Applies", func(t *testing.T) {
		t.Parallel()
		done := now.Add(time.Second)
		var items []store.Finished
		for i, st := range finals {
			task := running(t, int64(20+i))
			items = append(items, store.Finished{ID: task.ID, Lease: int64(20 + i), At: done.Add(time.Duration(i) * time.Millisecond),
				Outcome: store.Outcome{Status: st, Result: json.RawMessage(`{"score": 97, "issues": []}`), ErrorMessage: "msg " + string(st)}})
		}
		bare := running(t, 30) // no result, no error message: both stay NULL
		items = append(items, store.Finished{ID: bare.ID, Lease: 30, At: done, Outcome: store.Outcome{Status: actors.StatusCompleted}})

		errs, err := tasks.FinishBatch(t.Context(), items)
		ok(t, "finish batch", err)
		equal(t, "per-item errors", len(errs), len(items))
		for i, it := range items {
			ok(t, "item "+it.ID, errs[i])
			got, err := tasks.Get(t.Context(), it.ID)
			ok(t, "get", err)
			if got.Status != it.Outcome.Status || got.ErrorMessage != it.Outcome.ErrorMessage || got.CompletedAt == nil ||
				!got.CompletedAt.Equal(stored(it.At)) || !got.UpdatedAt.Equal(stored(it.At)) || got.Lease != it.Lease {
				t.Errorf("finished as %s: %+v", it.Outcome.Status, got)
			}
			if it.Outcome.Result == nil {
				equal(t, "no result", got.Result, json.RawMessage(nil))
			} else {
				equal(t, "result", string(canonJSON(t, got.Result)), string(canonJSON(t, it.Outcome.Result)))
			}
		}
		// The attempt each Start opened is closed with the outcome.
		attempts, err := tasks.Attempts(t.Context(), bare.ID)
		ok(t, "attempts", err)
		if len(attempts) != 1 || attempts[0].Status != string(actors.StatusCompleted) || attempts[0].FinishedAt == nil {
			t.Errorf("attempts after batch finish: %+v", attempts)
		}

		errs, err = tasks.FinishBatch(t.Context(), items)
		ok(t, "finish batch twice", err)
		for i := range items {
			isErr(t, "finish twice", errs[i], store.ErrConflict)
		}
	})

	t.Run("Mixed", func(t *testing.T) {
		t.Parallel()
		good, other, pending, final := running(t, 5), running(t, 6), newTask(t, s, ""), running(t, 7)
		ok(t, "finish", tasks.Finish(t.Context(), final.ID, 7, store.Outcome{Status: actors.StatusFailed}, now))
		done := store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"ok": true}`)}
		items := []store.Finished{
			{ID: pending.ID, Lease: 5, Outcome: done, At: now},                                      // not running
			{ID: good.ID, Lease: 5, Outcome: done, At: now},                                         // applies
			{ID: other.ID, Lease: 5, Outcome: done, At: now},                                        // another lease
			{ID: final.ID, Lease: 7, Outcome: done, At: now},                                        // final already
			{ID: newID(), Lease: 5, Outcome: done, At: now},                                         // no such task
			{ID: other.ID, Lease: 6, Outcome: store.Outcome{Status: actors.StatusQueued}, At: now},  // not final
			{ID: other.ID, Lease: 6, Outcome: store.Outcome{Status: actors.StatusTimeout}, At: now}, // applies, after a miss on the same id
			{ID: good.ID, Lease: 5, Outcome: done, At: now},                                         // the same item again: final now
		}
		errs, err := tasks.FinishBatch(t.Context(), items)
		ok(t, "finish batch", err)
		want := []error{store.ErrConflict, nil, store.ErrConflict, store.ErrConflict, store.ErrNotFound, errPlain, nil, store.ErrConflict}
		equal(t, "per-item errors", len(errs), len(want))
		for i, w := range want {
			what := fmt.Sprintf("item %d", i)
			switch w {
			case nil:
				ok(t, what, errs[i])
			case errPlain:
				if errs[i] == nil || errors.Is(errs[i], store.ErrConflict) || errors.Is(errs[i], store.ErrNotFound) {
					t.Errorf("%s: error %v, want a plain error", what, errs[i])
				}
			default:
				isErr(t, what, errs[i], w)
			}
		}
		for id, st := range map[string]actors.Status{good.ID: actors.StatusCompleted, other.ID: actors.StatusTimeout,
			pending.ID: actors.StatusPending, final.ID: actors.StatusFailed} {
			got, err := tasks.Get(t.Context(), id)
			ok(t, "get", err)
			equal(t, "status of "+id, got.Status, st)
		}
	})

	// A batch longer than the writers' cap, which a backend may write in
	// parts (SQLite: chunks of up to 256 rows, none with an id twice),
	// holds each item to its own verdict wherever it falls.
	t.Run("Long", func(t *testing.T) {
		t.Parallel()
		const n = 300
		ts := make([]actors.Task, n)
		ids := make([]string, n)
		for i := range ts {
			ts[i] = actors.Task{ID: newID(), Name: fmt.Sprintf("long %d", i), Type: "code_review", MaxAttempts: 1}
			ids[i] = ts[i].ID
		}
		errs, err := tasks.CreateBatch(t.Context(), ts)
		ok(t, "create batch", err)
		ok(t, "create batch items", errors.Join(errs...))
		ok(t, "mark queued", tasks.MarkQueued(t.Context(), ids...))
		// Every tenth task is never started: its item carries the start.
		deferred := func(i int) bool { return i%10 == 3 }
		var starts []store.Starting
		for i, id := range ids {
			if !deferred(i) {
				starts = append(starts, store.Starting{ID: id, Lease: int64(1000 + i), At: now})
			}
		}
		_, errs, err = tasks.StartBatch(t.Context(), starts)
		ok(t, "start batch", err)
		ok(t, "start batch items", errors.Join(errs...))

		done := now.Add(time.Second)
		items := make([]store.Finished, n)
		for i, id := range ids {
			items[i] = store.Finished{ID: id, Lease: int64(1000 + i), At: done,
				Outcome: store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))}}
			if deferred(i) {
				items[i].Outcome.StartedAt = now
			}
		}
		want := make([]error, n) // nil: applies
		set := func(i int, err error, edit func(*store.Finished)) {
			edit(&items[i])
			want[i] = err
		}
		set(0, store.ErrConflict, func(it *store.Finished) { it.Lease = 1 })
		set(128, store.ErrNotFound, func(it *store.Finished) { it.ID = newID() })
		set(200, store.ErrConflict, func(it *store.Finished) { *it = items[199] }) // finished by item 199
		set(201, errPlain, func(it *store.Finished) { it.Outcome.Status = actors.StatusRunning })
		set(202, nil, func(it *store.Finished) { *it = items[201]; it.Outcome.Status = actors.StatusFailed })
		set(255, store.ErrConflict, func(it *store.Finished) { it.Lease = 1 })
		set(256, store.ErrConflict, func(it *store.Finished) { it.Lease = 1 })
		set(263, store.ErrConflict, func(it *store.Finished) { it.Outcome.StartedAt = time.Time{} }) // never started
		set(299, nil, func(it *store.Finished) { *it = items[0]; it.Lease = 1000 })                  // after item 0 missed

		errs, err = tasks.FinishBatch(t.Context(), items)
		ok(t, "finish batch", err)
		equal(t, "per-item errors", len(errs), n)
		for i, w := range want {
			what := fmt.Sprintf("item %d", i)
			switch w {
			case nil:
				ok(t, what, errs[i])
				got, err := tasks.Get(t.Context(), items[i].ID)
				ok(t, "get", err)
				if got.Status != items[i].Outcome.Status || got.Lease != items[i].Lease || got.Attempts != 1 ||
					!got.UpdatedAt.Equal(stored(done)) {
					t.Errorf("%s: %+v, want %s under lease %d", what, got, items[i].Outcome.Status, items[i].Lease)
				}
			case errPlain:
				if errs[i] == nil || errors.Is(errs[i], store.ErrConflict) || errors.Is(errs[i], store.ErrNotFound) {
					t.Errorf("%s: error %v, want a plain error", what, errs[i])
				}
			default:
				isErr(t, what, errs[i], w)
			}
		}
		for i, st := range map[int]actors.Status{201: actors.StatusFailed, 255: actors.StatusRunning,
			256: actors.StatusRunning, 263: actors.StatusQueued} {
			got, err := tasks.Get(t.Context(), ids[i])
			ok(t, "get", err)
			equal(t, fmt.Sprintf("status of task %d", i), got.Status, st)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		errs, err := tasks.FinishBatch(t.Context(), nil)
		ok(t, "finish empty batch", err)
		equal(t, "errors", len(errs), 0)
	})
}

// errPlain marks an expected error that wraps neither sentinel.
var errPlain = errors.New("plain error")
