package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// testEnqueueBatch holds EnqueueBatch to CreateBatch's verdicts, with the
// rows queued and one outbox entry listing exactly the rows it inserted, and
// Outbox and ClearOutbox to what the Sweeper relies on.
func testEnqueueBatch(t *testing.T, s store.Store) {
	tasks := s.Tasks()
	now := time.Now()
	fresh := func(i int, user string) actors.Task {
		return actors.Task{ID: newID(), Name: fmt.Sprintf("enqueue %d", i), Type: "code_review",
			Parameters: json.RawMessage(`{"file":"main.go"}`), Priority: actors.PriorityHigh,
			UserID: user, MaxAttempts: 3, CreatedAt: stored(t0)}
	}
	// entry finds the outbox entry id among those made before the test's
	// end, so a parallel subtest can look up its own.
	entry := func(t *testing.T, id int64) (store.OutboxEntry, bool) {
		t.Helper()
		list, err := tasks.Outbox(t.Context(), time.Now().Add(time.Minute), store.MaxLimit)
		ok(t, "outbox", err)
		for _, e := range list {
			if e.ID == id {
				return e, true
			}
		}
		return store.OutboxEntry{}, false
	}
	sorted := func(ids ...string) []string {
		ids = slices.Clone(ids)
		slices.Sort(ids)
		return ids
	}

	// Serial: it reads every entry of the outbox.
	t.Run("Outbox", func(t *testing.T) {
		before := time.Now().Add(-time.Millisecond)
		existing := newTask(t, s, "")
		a1, a2, b1 := fresh(1, ""), fresh(2, ""), fresh(3, "")
		idA, errs, err := tasks.EnqueueBatch(t.Context(), []actors.Task{a1, existing, a2})
		ok(t, "enqueue a", err)
		isErr(t, "existing id", errs[1], store.ErrConflict)
		idB, _, err := tasks.EnqueueBatch(t.Context(), []actors.Task{b1})
		ok(t, "enqueue b", err)
		if idA == 0 || idB == 0 || idA == idB {
			t.Fatalf("outbox entries %d and %d, want two distinct non-zero ids", idA, idB)
		}

		list, err := tasks.Outbox(t.Context(), before, 100)
		ok(t, "outbox", err)
		equal(t, "entries made before the cutoff", len(list), 0)
		later := time.Now().Add(time.Second)
		list, err = tasks.Outbox(t.Context(), later, 100)
		ok(t, "outbox", err)
		equal(t, "entries, oldest first", ids(list, func(e store.OutboxEntry) string { return fmt.Sprint(e.ID) }),
			[]string{fmt.Sprint(idA), fmt.Sprint(idB)})
		equal(t, "tasks of the first entry", sorted(ids(list[0].Tasks, taskID)...), sorted(a1.ID, a2.ID))
		equal(t, "tasks of the second entry", ids(list[1].Tasks, taskID), []string{b1.ID})
		equal(t, "listed task as stored", list[1].Tasks[0].Status, actors.StatusQueued)
		list, err = tasks.Outbox(t.Context(), later, 1)
		ok(t, "outbox", err)
		equal(t, "entries, limited", len(list), 1)

		// A task that has started, or was cancelled, needs no message: it
		// drops out of its entry, and an entry of none such is listed empty.
		_, err = tasks.Start(t.Context(), a1.ID, 7, now)
		ok(t, "start", err)
		_, err = tasks.Cancel(t.Context(), b1.ID, now)
		ok(t, "cancel", err)
		list, err = tasks.Outbox(t.Context(), later, 100)
		ok(t, "outbox", err)
		equal(t, "entries", len(list), 2)
		equal(t, "still queued of the first entry", ids(list[0].Tasks, taskID), []string{a2.ID})
		equal(t, "still queued of the second entry", ids(list[1].Tasks, taskID), []string{})

		ok(t, "clear", tasks.ClearOutbox(t.Context(), idA))
		ok(t, "clear again", tasks.ClearOutbox(t.Context(), idA))
		list, err = tasks.Outbox(t.Context(), later, 100)
		ok(t, "outbox", err)
		equal(t, "entries after a clear", ids(list, func(e store.OutboxEntry) string { return fmt.Sprint(e.ID) }),
			[]string{fmt.Sprint(idB)})
		ok(t, "clear", tasks.ClearOutbox(t.Context(), idB))
		list, err = tasks.Outbox(t.Context(), later, 100)
		ok(t, "outbox", err)
		equal(t, "entries after clearing both", len(list), 0)
	})

	t.Run("Stores", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		existing := newTask(t, s, "")
		a, b := fresh(0, user.ID), actors.Task{ID: newID(), Name: "bare", Type: "code_review"}
		batch := []actors.Task{a, existing, b, a}
		outbox, errs, err := tasks.EnqueueBatch(t.Context(), batch)
		ok(t, "enqueue batch", err)
		equal(t, "per-task errors", len(errs), len(batch))
		ok(t, "new task a", errs[0])
		isErr(t, "existing id", errs[1], store.ErrConflict)
		ok(t, "new task b", errs[2])
		isErr(t, "id repeated in the batch", errs[3], store.ErrConflict)
		for _, want := range []actors.Task{a, b} {
			got, err := tasks.Get(t.Context(), want.ID)
			ok(t, "get", err)
			equal(t, "status", got.Status, actors.StatusQueued)
			equal(t, "name", got.Name, want.Name)
			equal(t, "user", got.UserID, want.UserID)
			equal(t, "attempts", got.Attempts, 0)
		}
		got, err := tasks.Get(t.Context(), existing.ID)
		ok(t, "get existing", err)
		equal(t, "existing task untouched", got.Status, actors.StatusPending)
		e, found := entry(t, outbox)
		if !found {
			t.Fatalf("outbox entry %d not listed", outbox)
		}
		equal(t, "entry lists the inserted tasks", sorted(ids(e.Tasks, taskID)...), sorted(a.ID, b.ID))
		ok(t, "clear", tasks.ClearOutbox(t.Context(), outbox))
		if _, found := entry(t, outbox); found {
			t.Errorf("outbox entry %d listed after its clear", outbox)
		}
	})

	// See testCreateBatch's Long: the entry lists exactly the tasks let in.
	t.Run("Long", func(t *testing.T) {
		t.Parallel()
		batch, want := longBatch(t, s, fresh)
		outbox, errs, err := tasks.EnqueueBatch(t.Context(), batch)
		ok(t, "enqueue batch", err)
		checkLong(t, s, batch, want, errs, actors.StatusQueued)
		var in []string
		for i, task := range batch {
			if want[i] == nil {
				in = append(in, task.ID)
			}
		}
		e, found := entry(t, outbox)
		if !found {
			t.Fatalf("outbox entry %d not listed", outbox)
		}
		equal(t, "entry lists the inserted tasks", sorted(ids(e.Tasks, taskID)...), sorted(in...))
		ok(t, "clear", tasks.ClearOutbox(t.Context(), outbox))
	})

	t.Run("NothingInserted", func(t *testing.T) {
		t.Parallel()
		outbox, errs, err := tasks.EnqueueBatch(t.Context(), nil)
		ok(t, "enqueue empty batch", err)
		equal(t, "errors", len(errs), 0)
		equal(t, "outbox entry of an empty batch", outbox, int64(0))

		existing := newTask(t, s, "")
		outbox, errs, err = tasks.EnqueueBatch(t.Context(), []actors.Task{existing})
		ok(t, "enqueue batch", err)
		isErr(t, "existing id", errs[0], store.ErrConflict)
		equal(t, "outbox entry of a batch of conflicts", outbox, int64(0))
	})

	// A task the backend stores on its own is pending and out of the entry;
	// one stored with the batch is queued and in it. Which the good task of
	// this batch is depends on the backend (PostgreSQL inserts the batch in
	// one statement, which the bad task fails), so either is accepted.
	t.Run("BadTaskAlone", func(t *testing.T) {
		t.Parallel()
		good := fresh(0, "")
		unknownUser := fresh(1, newID())
		outbox, errs, err := tasks.EnqueueBatch(t.Context(), []actors.Task{good, unknownUser})
		ok(t, "enqueue batch", err)
		ok(t, "good task", errs[0])
		if errs[1] == nil {
			t.Error("task of an unknown user: nil error")
		}
		_, err = tasks.Get(t.Context(), unknownUser.ID)
		isErr(t, "bad task not stored", err, store.ErrNotFound)
		got, err := tasks.Get(t.Context(), good.ID)
		ok(t, "good task stored", err)
		e, found := entry(t, outbox)
		switch got.Status {
		case actors.StatusQueued:
			if !found || !slices.Equal(ids(e.Tasks, taskID), []string{good.ID}) {
				t.Errorf("queued task, outbox entry %d: %+v (listed %v); want it listed", outbox, e, found)
			}
			ok(t, "clear", tasks.ClearOutbox(t.Context(), outbox))
		case actors.StatusPending:
			equal(t, "outbox entry of a task stored alone", outbox, int64(0))
		default:
			t.Errorf("good task is %s, want queued or pending", got.Status)
		}
	})
}
