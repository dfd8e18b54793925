package storetest

import (
	"fmt"
	"testing"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// testCreateBatch holds CreateBatch to Create's contract, task by task: a
// batch is the same as calling Create on each task in turn.
func testCreateBatch(t *testing.T, s store.Store) {
	tasks := s.Tasks()
	fresh := func(i int, user string) actors.Task { return freshTask("batch", i, user) }

	t.Run("Stores", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		batch := []actors.Task{fresh(0, user.ID), fresh(1, ""), {ID: newID(), Name: "bare", Type: "code_review"}}
		errs, err := tasks.CreateBatch(t.Context(), batch)
		ok(t, "create batch", err)
		equal(t, "per-task errors", len(errs), len(batch))
		for i, want := range batch {
			ok(t, "task "+want.ID, errs[i])
			got, err := tasks.Get(t.Context(), want.ID)
			ok(t, "get", err)
			equal(t, "status", got.Status, actors.StatusPending)
			equal(t, "name", got.Name, want.Name)
			equal(t, "user", got.UserID, want.UserID)
			equal(t, "max attempts", got.MaxAttempts, want.MaxAttempts)
			if want.Parameters != nil {
				equal(t, "parameters", string(canonJSON(t, got.Parameters)), string(canonJSON(t, want.Parameters)))
			}
			if i == 2 {
				equal(t, "default priority", got.Priority, actors.PriorityNormal)
				if got.CreatedAt.IsZero() {
					t.Error("zero created_at for a task given none")
				}
			} else {
				equal(t, "priority", got.Priority, want.Priority)
				equal(t, "created_at", got.CreatedAt, want.CreatedAt)
			}
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		errs, err := tasks.CreateBatch(t.Context(), nil)
		ok(t, "create empty batch", err)
		equal(t, "errors", len(errs), 0)
	})

	t.Run("MixedConflicts", func(t *testing.T) {
		t.Parallel()
		existing := newTask(t, s, "")
		a, b := fresh(0, ""), fresh(1, "")
		again := existing
		again.Name = "second try"
		batch := []actors.Task{a, again, b, a}
		errs, err := tasks.CreateBatch(t.Context(), batch)
		ok(t, "create batch", err)
		equal(t, "per-task errors", len(errs), len(batch))
		ok(t, "new task a", errs[0])
		isErr(t, "existing id", errs[1], store.ErrConflict)
		ok(t, "new task b", errs[2])
		isErr(t, "id repeated in the batch", errs[3], store.ErrConflict)
		got, err := tasks.Get(t.Context(), existing.ID)
		ok(t, "get existing", err)
		equal(t, "existing task untouched", got.Name, existing.Name)
		for _, id := range []string{a.ID, b.ID} {
			got, err := tasks.Get(t.Context(), id)
			ok(t, "get new", err)
			equal(t, "status", got.Status, actors.StatusPending)
		}
	})

	// A batch longer than the writers' cap, which a backend may write in
	// parts (SQLite: chunks of up to 256 rows), holds each task to its own
	// verdict wherever it falls, and stores every other task.
	t.Run("Long", func(t *testing.T) {
		t.Parallel()
		batch, want := longBatch(t, s, fresh)
		errs, err := tasks.CreateBatch(t.Context(), batch)
		ok(t, "create batch", err)
		checkLong(t, s, batch, want, errs, actors.StatusPending)
	})

	t.Run("BadTaskAlone", func(t *testing.T) {
		t.Parallel()
		good := fresh(0, "")
		unknownUser := fresh(1, newID()) // no such user: Create refuses it
		errs, err := tasks.CreateBatch(t.Context(), []actors.Task{good, unknownUser})
		ok(t, "create batch", err)
		ok(t, "good task", errs[0])
		if errs[1] == nil {
			t.Error("task of an unknown user: nil error")
		}
		want := tasks.Create(t.Context(), fresh(2, unknownUser.UserID))
		if (want == nil) != (errs[1] == nil) {
			t.Errorf("batch verdict %v, Create's %v", errs[1], want)
		}
		_, err = tasks.Get(t.Context(), good.ID)
		ok(t, "good task stored", err)
		_, err = tasks.Get(t.Context(), unknownUser.ID)
		isErr(t, "bad task not stored", err, store.ErrNotFound)
	})
}

// longBatch returns 300 tasks made by fresh, some of them refused wherever a
// backend may split the batch, and what CreateBatch must say of each (nil
// or ErrConflict): an id that exists, at the ends and around 256, and ids
// repeated from earlier in the batch, next to those and in between.
func longBatch(t *testing.T, s store.Store, fresh func(i int, user string) actors.Task) ([]actors.Task, []error) {
	batch := make([]actors.Task, 300)
	for i := range batch {
		batch[i] = fresh(i, "")
	}
	want := make([]error, len(batch))
	for _, i := range []int{0, 255, 256, 299} {
		batch[i] = newTask(t, s, "")
		want[i] = store.ErrConflict
	}
	for _, p := range [][2]int{{2, 1}, {127, 3}, {128, 126}, {200, 140}, {258, 257}, {298, 297}} {
		batch[p[0]] = batch[p[1]]
		want[p[0]] = store.ErrConflict
	}
	return batch, want
}

// checkLong checks the verdicts errs of a longBatch, and that each task it
// let in is stored with status, the first of its id in the batch.
func checkLong(t *testing.T, s store.Store, batch []actors.Task, want, errs []error, status actors.Status) {
	t.Helper()
	equal(t, "per-task errors", len(errs), len(batch))
	for i, task := range batch {
		what := fmt.Sprintf("task %d", i)
		if want[i] != nil {
			isErr(t, what, errs[i], want[i])
			continue
		}
		ok(t, what, errs[i])
		got, err := s.Tasks().Get(t.Context(), task.ID)
		ok(t, "get "+what, err)
		equal(t, what+" status", got.Status, status)
		equal(t, what+" name", got.Name, task.Name)
	}
}
