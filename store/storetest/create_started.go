package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// freshTask is a new task with every field set, named what i, of user
// (none when empty).
func freshTask(what string, i int, user string) actors.Task {
	return actors.Task{ID: newID(), Name: fmt.Sprintf("%s %d", what, i), Type: "code_review",
		Description: "d", Parameters: json.RawMessage(`{"file":"main.go"}`), Priority: actors.PriorityHigh,
		UserID: user, MaxAttempts: 3, CreatedAt: stored(t0)}
}

// existingAgain stores a task and returns it again under another name, as a
// second creation of the same id would bring it, with a check that the
// stored task is still as it was.
func existingAgain(t *testing.T, s store.Store) (again actors.Task, untouched func(t *testing.T)) {
	t.Helper()
	existing := newTask(t, s, "")
	before, err := s.Tasks().Get(t.Context(), existing.ID)
	ok(t, "get existing", err)
	again = existing
	again.Name = "second try"
	return again, func(t *testing.T) {
		t.Helper()
		after, err := s.Tasks().Get(t.Context(), existing.ID)
		ok(t, "get existing", err)
		equal(t, "existing task untouched", after, before)
	}
}

// badTasks returns three new tasks named what: one good, one of a user who
// does not exist (Create refuses it), and one whose id is not a UUID
// (PostgreSQL refuses it, SQLite takes it).
func badTasks(what string) (good, unknownUser, malformed actors.Task) {
	good, unknownUser, malformed = freshTask(what, 0, ""), freshTask(what, 1, newID()), freshTask(what, 2, "")
	malformed.ID = "not-a-uuid-" + newID()
	return good, unknownUser, malformed
}

// likeCreateBatch checks two verdicts of a batch method against
// CreateBatch's on the same kinds of task: unknownErr on a task of the user
// unknownUser (who does not exist), malformedErr on a task whose id is not
// a UUID. Each must wrap the sentinel CreateBatch's does, or, where
// CreateBatch's wraps none, be an error too (or nil where it is nil).
func likeCreateBatch(t *testing.T, tasks store.Tasks, unknownUser string, unknownErr, malformedErr error) {
	t.Helper()
	_, other, malformed := badTasks("like batch")
	other.UserID = unknownUser
	want, err := tasks.CreateBatch(t.Context(), []actors.Task{other, malformed})
	ok(t, "create batch", err)
	sentinel := func(err error) string {
		if c := errClass(err); c == "nil" || c == "conflict" || c == "not found" {
			return c
		}
		return "other"
	}
	equal(t, "verdict on the task of an unknown user", sentinel(unknownErr), sentinel(want[0]))
	equal(t, "verdict on the malformed id", sentinel(malformedErr), sentinel(want[1]))
}

// testCreateStarted holds CreateStarted to its contract: each row is stored
// as Create then Start would leave it, and each item gets the verdict
// CreateBatch would give its task.
func testCreateStarted(t *testing.T, s store.Store) {
	tasks := s.Tasks()
	fresh := func(i int, user string) actors.Task { return freshTask("started", i, user) }

	t.Run("Stores", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		// Its publisher's clock is ahead of the node's: made after it started.
		ahead := fresh(3, user.ID)
		ahead.CreatedAt = atSec(60)
		items := []store.NewStart{
			{Task: fresh(0, user.ID), Lease: 40, At: atSec(1)},
			{Task: fresh(1, ""), Lease: 41, At: atSec(2)},
			{Task: actors.Task{ID: newID(), Name: "bare", Type: "code_review"}, Lease: 42, At: atSec(3)},
			{Task: ahead, Lease: 43, At: atSec(4)},
		}
		ts, errs, err := tasks.CreateStarted(t.Context(), items)
		ok(t, "create started", err)
		equal(t, "tasks", len(ts), len(items))
		equal(t, "per-item errors", len(errs), len(items))
		for i, it := range items {
			what := fmt.Sprintf("item %d", i)
			ok(t, what, errs[i])
			got := ts[i]
			if got.ID != it.Task.ID || got.Status != actors.StatusRunning || got.Lease != it.Lease ||
				got.Attempts != 1 || got.Attempt != 1 || !got.UpdatedAt.Equal(it.At) ||
				got.StartedAt == nil || !got.StartedAt.Equal(it.At) || got.CompletedAt != nil {
				t.Errorf("%s: %+v; want running under lease %d, attempt 1, started and updated at %v",
					what, got, it.Lease, it.At)
			}
			equal(t, what+": name", got.Name, it.Task.Name)
			equal(t, what+": user", got.UserID, it.Task.UserID)
			equal(t, what+": max attempts", got.MaxAttempts, it.Task.MaxAttempts)
			switch i {
			case 2:
				equal(t, what+": default priority", got.Priority, actors.PriorityNormal)
				equal(t, what+": created_at of a task given none", got.CreatedAt, it.At)
			case 3:
				equal(t, what+": created_at of a task given one after its start", got.CreatedAt, it.At)
			default:
				equal(t, what+": priority", got.Priority, it.Task.Priority)
				equal(t, what+": created_at", got.CreatedAt, it.Task.CreatedAt)
				equal(t, what+": parameters", string(canonJSON(t, got.Parameters)),
					string(canonJSON(t, it.Task.Parameters)))
			}
			row, err := tasks.Get(t.Context(), it.Task.ID)
			ok(t, "get", err)
			equal(t, what+": task stored", anonymous(t, row), anonymous(t, got))
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		ts, errs, err := tasks.CreateStarted(t.Context(), nil)
		ok(t, "create started, empty", err)
		equal(t, "tasks", len(ts), 0)
		equal(t, "errors", len(errs), 0)
	})

	// The same tasks made twice, once with CreateStarted and once with
	// Create then Start: what is returned and what is stored must match.
	t.Run("LikeCreateThenStart", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		a, b := fresh(0, user.ID), fresh(0, user.ID)
		ts, errs, err := tasks.CreateStarted(t.Context(), []store.NewStart{{Task: a, Lease: 7, At: atSec(5)}})
		ok(t, "create started", err)
		ok(t, "item", errs[0])
		ok(t, "create", tasks.Create(t.Context(), b))
		want, err := tasks.Start(t.Context(), b.ID, 7, atSec(5))
		ok(t, "start", err)
		equal(t, "task returned", anonymous(t, ts[0]), anonymous(t, want))
		ga, la, err := tasks.GetWithAttempts(t.Context(), a.ID)
		ok(t, "get with attempts", err)
		gb, lb, err := tasks.GetWithAttempts(t.Context(), b.ID)
		ok(t, "get with attempts", err)
		equal(t, "task stored", anonymous(t, ga), anonymous(t, gb))
		equal(t, "attempts", la, lb)
	})

	t.Run("MixedConflicts", func(t *testing.T) {
		t.Parallel()
		again, untouched := existingAgain(t, s)
		a, b := fresh(0, ""), fresh(1, "")
		items := []store.NewStart{
			{Task: a, Lease: 1, At: atSec(1)},
			{Task: again, Lease: 2, At: atSec(2)},
			{Task: b, Lease: 3, At: atSec(3)},
			{Task: a, Lease: 4, At: atSec(4)}, // another delivery of a, in the same batch
		}
		ts, errs, err := tasks.CreateStarted(t.Context(), items)
		ok(t, "create started", err)
		equal(t, "per-item errors", len(errs), len(items))
		ok(t, "new task a", errs[0])
		isErr(t, "existing id", errs[1], store.ErrConflict)
		ok(t, "new task b", errs[2])
		isErr(t, "id repeated in the batch", errs[3], store.ErrConflict)
		equal(t, "lease of a", ts[0].Lease, int64(1))
		equal(t, "lease of b", ts[2].Lease, int64(3))
		untouched(t)
		got, err := tasks.Get(t.Context(), a.ID)
		ok(t, "get a", err)
		if got.Status != actors.StatusRunning || got.Lease != 1 || got.Attempts != 1 {
			t.Errorf("a after the batch: %+v; want running under the first item's lease, one attempt", got)
		}
	})

	t.Run("BadTaskAlone", func(t *testing.T) {
		t.Parallel()
		good, unknownUser, malformed := badTasks("started")
		ts, errs, err := tasks.CreateStarted(t.Context(), []store.NewStart{
			{Task: good, Lease: 1, At: atSec(1)},
			{Task: unknownUser, Lease: 2, At: atSec(1)},
			{Task: malformed, Lease: 3, At: atSec(1)},
		})
		ok(t, "create started", err)
		ok(t, "good task", errs[0])
		equal(t, "good task running", ts[0].Status, actors.StatusRunning)
		if errs[1] == nil {
			t.Error("task of an unknown user: nil error")
		}
		likeCreateBatch(t, tasks, unknownUser.UserID, errs[1], errs[2])
		if errs[2] == nil {
			equal(t, "malformed id, stored as", ts[2].Status, actors.StatusRunning)
		}
		_, err = tasks.Get(t.Context(), good.ID)
		ok(t, "good task stored", err)
		_, err = tasks.Get(t.Context(), unknownUser.ID)
		isErr(t, "bad task not stored", err, store.ErrNotFound)
	})

	// The row stands for the attempt it was stored with: running, then, once
	// finished, one attempt from At, as for a task created and then started;
	// a redelivery under the same lease ends it as crashed from At.
	t.Run("Attempts", func(t *testing.T) {
		t.Parallel()
		finished, redelivered := fresh(0, ""), fresh(1, "")
		_, errs, err := tasks.CreateStarted(t.Context(), []store.NewStart{
			{Task: finished, Lease: 5, At: atSec(1)},
			{Task: redelivered, Lease: 6, At: atSec(1)},
		})
		ok(t, "create started", err)
		ok(t, "finished", errs[0])
		ok(t, "redelivered", errs[1])

		list, err := tasks.Attempts(t.Context(), finished.ID)
		ok(t, "attempts", err)
		equal(t, "attempts while running", list, []store.Attempt{
			{Attempt: 1, Lease: 5, Status: "running", StartedAt: atSec(1)},
		})
		ok(t, "finish", tasks.Finish(t.Context(), finished.ID, 5,
			store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{}`)}, atSec(2)))
		task, list, err := tasks.GetWithAttempts(t.Context(), finished.ID)
		ok(t, "get with attempts", err)
		equal(t, "status", task.Status, actors.StatusCompleted)
		equal(t, "attempts once finished", list, []store.Attempt{
			{Attempt: 1, Lease: 5, Status: "completed", StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
		})

		_, err = tasks.Start(t.Context(), redelivered.ID, 6, atSec(3))
		ok(t, "start again under the same lease", err)
		list, err = tasks.Attempts(t.Context(), redelivered.ID)
		ok(t, "attempts", err)
		equal(t, "attempts after a redelivery", list, []store.Attempt{
			{Attempt: 1, Lease: 6, Status: store.AttemptCrashed,
				Error:     "the attempt ended without an outcome: its worker crashed or lost its lease",
				StartedAt: atSec(1), FinishedAt: ptr(atSec(3))},
			{Attempt: 2, Lease: 6, Status: "running", StartedAt: atSec(3)},
		})
	})
}
