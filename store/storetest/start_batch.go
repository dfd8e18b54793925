package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// testStartBatch holds StartBatch to Start's contract, item by item: a
// batch is the same as calling Start on each item in turn.
func testStartBatch(t *testing.T, s store.Store) {
	tasks := s.Tasks()

	t.Run("Mixed", func(t *testing.T) {
		t.Parallel()
		sc := newStartScenario(t, s)
		befores := make([]store.Task, len(sc.items))
		for i, it := range sc.items {
			if sc.want[i] != nil && sc.want[i] != store.ErrNotFound {
				var err error
				befores[i], err = tasks.Get(t.Context(), it.ID)
				ok(t, "get", err)
			}
		}
		ts, errs, err := tasks.StartBatch(t.Context(), sc.items)
		ok(t, "start batch", err)
		equal(t, "tasks", len(ts), len(sc.items))
		equal(t, "per-item errors", len(errs), len(sc.items))
		for i, it := range sc.items {
			what := fmt.Sprintf("item %d (%s)", i, sc.names[i])
			if sc.want[i] != nil {
				isErr(t, what, errs[i], sc.want[i])
				if sc.want[i] == store.ErrConflict && !sc.repeated[i] {
					after, err := tasks.Get(t.Context(), it.ID)
					ok(t, "get", err)
					equal(t, what+": task after a refused start", after, befores[i])
				}
				continue
			}
			ok(t, what, errs[i])
			got := ts[i]
			if got.ID != it.ID || got.Status != actors.StatusRunning || got.Lease != it.Lease ||
				got.Attempts != sc.attempts[i] || got.Attempt != sc.attempts[i] ||
				!got.UpdatedAt.Equal(stored(it.At)) || got.StartedAt == nil {
				t.Errorf("%s: %+v; want running under lease %d, attempt %d, updated at %v",
					what, got, it.Lease, sc.attempts[i], stored(it.At))
			}
		}
	})

	t.Run("Attempts", func(t *testing.T) {
		t.Parallel()
		fresh, redelivered := newTask(t, s, ""), newTask(t, s, "")
		_, err := tasks.Start(t.Context(), redelivered.ID, 7, atSec(1))
		ok(t, "start", err)
		ts, errs, err := tasks.StartBatch(t.Context(), []store.Starting{
			{ID: fresh.ID, Lease: 5, At: atSec(2)},
			{ID: redelivered.ID, Lease: 7, At: atSec(3)}, // the same message again: the first attempt crashed
		})
		ok(t, "start batch", err)
		ok(t, "fresh", errs[0])
		ok(t, "redelivered", errs[1])
		equal(t, "started at, first start", ts[0].StartedAt, ptr(atSec(2)))
		equal(t, "started at, kept from the first start", ts[1].StartedAt, ptr(atSec(1)))

		list, err := tasks.Attempts(t.Context(), fresh.ID)
		ok(t, "attempts", err)
		equal(t, "attempts of the fresh task", list, []store.Attempt{
			{Attempt: 1, Lease: 5, Status: "running", StartedAt: atSec(2)},
		})
		list, err = tasks.Attempts(t.Context(), redelivered.ID)
		ok(t, "attempts", err)
		equal(t, "attempts of the redelivered task", list, []store.Attempt{
			{Attempt: 1, Lease: 7, Status: store.AttemptCrashed,
				Error:     "the attempt ended without an outcome: its worker crashed or lost its lease",
				StartedAt: atSec(1), FinishedAt: ptr(atSec(3))},
			{Attempt: 2, Lease: 7, Status: "running", StartedAt: atSec(3)},
		})
	})

	// The same scenario twice, once with StartBatch and once with a loop of
	// Start: the answers and what is stored must match.
	t.Run("LikeStart", func(t *testing.T) {
		t.Parallel()
		batch, loop := newStartScenario(t, s), newStartScenario(t, s)
		bts, berrs, err := tasks.StartBatch(t.Context(), batch.items)
		ok(t, "start batch", err)
		for i, it := range loop.items {
			what := fmt.Sprintf("item %d (%s)", i, loop.names[i])
			got, err := tasks.Start(t.Context(), it.ID, it.Lease, it.At)
			if errClass(err) != errClass(berrs[i]) {
				t.Errorf("%s: Start says %v, StartBatch says %v", what, err, berrs[i])
				continue
			}
			if err != nil {
				continue
			}
			equal(t, what+": task returned", anonymous(t, bts[i]), anonymous(t, got))
		}
		for i := range loop.items {
			if loop.want[i] == store.ErrNotFound {
				continue
			}
			what := fmt.Sprintf("item %d (%s)", i, loop.names[i])
			b, err := tasks.Get(t.Context(), batch.items[i].ID)
			ok(t, "get", err)
			l, err := tasks.Get(t.Context(), loop.items[i].ID)
			ok(t, "get", err)
			equal(t, what+": task stored", anonymous(t, b), anonymous(t, l))
			ba, err := tasks.Attempts(t.Context(), batch.items[i].ID)
			ok(t, "attempts", err)
			la, err := tasks.Attempts(t.Context(), loop.items[i].ID)
			ok(t, "attempts", err)
			equal(t, what+": attempts", ba, la)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		ts, errs, err := tasks.StartBatch(t.Context(), nil)
		ok(t, "start empty batch", err)
		equal(t, "tasks", len(ts), 0)
		equal(t, "errors", len(errs), 0)
	})
}

// startScenario is a batch of starts over fresh tasks in every state Start
// distinguishes, with what Start called in turn answers for each item.
type startScenario struct {
	items    []store.Starting
	names    []string
	want     []error // nil, store.ErrConflict or store.ErrNotFound
	attempts []int   // the task's attempts after a start that applies
	repeated []bool  // the task is in the batch more than once
}

func newStartScenario(t *testing.T, s store.Store) startScenario {
	t.Helper()
	tasks := s.Tasks()
	var sc startScenario
	add := func(name, id string, lease int64, want error, attempts int, repeated bool) {
		sc.items = append(sc.items, store.Starting{ID: id, Lease: lease, At: atSec(100 + len(sc.items))})
		sc.names = append(sc.names, name)
		sc.want = append(sc.want, want)
		sc.attempts = append(sc.attempts, attempts)
		sc.repeated = append(sc.repeated, repeated)
	}
	started := func(lease int64) string {
		task := newTask(t, s, "")
		_, err := tasks.Start(t.Context(), task.ID, lease, atSec(1))
		ok(t, "start", err)
		return task.ID
	}

	add("pending", newTask(t, s, "").ID, 10, nil, 1, false)
	queued := newTask(t, s, "").ID
	ok(t, "queue", tasks.MarkQueued(t.Context(), queued))
	add("queued", queued, 11, nil, 1, false)
	add("running under the same lease", started(12), 12, nil, 2, false)
	add("running under another lease", started(13), 14, store.ErrConflict, 0, false)
	completed := started(15)
	ok(t, "finish", tasks.Finish(t.Context(), completed, 15, store.Outcome{Status: actors.StatusCompleted}, atSec(2)))
	add("completed", completed, 15, store.ErrConflict, 0, false)
	dead := newTask(t, s, "").ID
	ok(t, "dead-letter", tasks.DeadLetter(t.Context(), dead, "gone", atSec(2)))
	add("dead_letter", dead, 16, store.ErrConflict, 0, false)
	add("unknown", newID(), 17, store.ErrNotFound, 0, false)
	add("malformed id", "not-a-uuid", 18, store.ErrNotFound, 0, false)
	// One task three times: the second item finds it running under the
	// first one's lease, the third is the first one's redelivery.
	twice := newTask(t, s, "").ID
	add("repeated, first", twice, 20, nil, 1, true)
	add("repeated, another lease", twice, 21, store.ErrConflict, 0, true)
	add("repeated, the first lease again", twice, 20, nil, 2, true)
	return sc
}

// errClass names the sentinel err wraps, for comparing two answers.
func errClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	case errors.Is(err, store.ErrNotFound):
		return "not found"
	}
	return "other: " + err.Error()
}

// anonymous is t without its id, and with its parameters canonical, so that
// two tasks made alike compare equal.
func anonymous(t *testing.T, task store.Task) store.Task {
	task.ID = ""
	task.Parameters = canonJSON(t, task.Parameters)
	return task
}
