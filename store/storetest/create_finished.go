package storetest

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// testCreateFinished holds CreateFinished to its contract: each row is
// stored as CreateStarted then Finish would leave it, and each item gets
// the verdict CreateBatch would give its task, or CheckFinish's.
func testCreateFinished(t *testing.T, s store.Store) {
	tasks := s.Tasks()
	fresh := func(i int, user string) actors.Task { return freshTask("finished", i, user) }
	completed := func(startSec int) store.Outcome {
		return store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"ok":true}`),
			StartedAt: atSec(startSec)}
	}

	// The same tasks made twice, once with CreateFinished and once with
	// CreateStarted then Finish: the rows and their attempts must match.
	// CreateFinished gets them one at a time and all in one batch, which a
	// backend may store another way (PostgreSQL: COPY).
	t.Run("LikeCreateStartedThenFinish", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		outcomes := []store.Outcome{
			completed(5),
			{Status: actors.StatusFailed, ErrorMessage: "boom", StartedAt: atSec(5)},
		}
		type pair struct {
			a, b actors.Task
			o    store.Outcome
			what string
		}
		var alone, batched []pair
		for _, in := range []*[]pair{&alone, &batched} {
			for i, o := range outcomes {
				bare := actors.Task{ID: newID(), Name: "bare", Type: "code_review"}
				full := fresh(i, user.ID)
				for _, task := range []actors.Task{full, bare} {
					a, b := task, task
					a.ID, b.ID = newID(), newID()
					what := fmt.Sprintf("outcome %d, task %q", i, a.Name)
					*in = append(*in, pair{a, b, o, what})
				}
			}
		}
		for _, p := range alone {
			errs, err := tasks.CreateFinished(t.Context(), []store.NewFinish{{Task: p.a, Lease: 7, Outcome: p.o, At: atSec(6)}})
			ok(t, "create finished", err)
			ok(t, "item", errs[0])
		}
		var items []store.NewFinish
		for _, p := range batched {
			items = append(items, store.NewFinish{Task: p.a, Lease: 7, Outcome: p.o, At: atSec(6)})
		}
		errs, err := tasks.CreateFinished(t.Context(), items)
		ok(t, "create finished, batched", err)
		for i := range errs {
			ok(t, "batched item", errs[i])
		}
		for _, p := range append(alone, batched...) {
			a, b, o, what := p.a, p.b, p.o, p.what
			_, serrs, err := tasks.CreateStarted(t.Context(), []store.NewStart{{Task: b, Lease: 7, At: atSec(5)}})
			ok(t, "create started", err)
			ok(t, "started item", serrs[0])
			ok(t, "finish", tasks.Finish(t.Context(), b.ID, 7, o, atSec(6)))
			ga, la, err := tasks.GetWithAttempts(t.Context(), a.ID)
			ok(t, "get with attempts", err)
			gb, lb, err := tasks.GetWithAttempts(t.Context(), b.ID)
			ok(t, "get with attempts", err)
			equal(t, what+": task stored", anonymous(t, ga), anonymous(t, gb))
			equal(t, what+": attempts", la, lb)
			if ga.Status != o.Status || ga.Attempts != 1 || ga.Lease != 7 || ga.StartedAt == nil ||
				!ga.StartedAt.Equal(atSec(5)) || ga.CompletedAt == nil || !ga.CompletedAt.Equal(atSec(6)) {
				t.Errorf("%s: %+v; want %s under lease 7, one attempt from 5 s to 6 s", what, ga, o.Status)
			}
			if a.CreatedAt.IsZero() {
				equal(t, what+": created_at of a task given none", ga.CreatedAt, atSec(5))
			}
		}
	})

	// A publisher whose clock is ahead of the node's: the task was made
	// when its attempt began, not after.
	t.Run("CreatedNoLaterThanItsAttempt", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		ahead := fresh(0, user.ID)
		ahead.CreatedAt = atSec(60)
		errs, err := tasks.CreateFinished(t.Context(), []store.NewFinish{{Task: ahead, Lease: 7, Outcome: completed(5), At: atSec(6)}})
		ok(t, "create finished", err)
		ok(t, "item", errs[0])
		got, err := tasks.Get(t.Context(), ahead.ID)
		ok(t, "get", err)
		equal(t, "created_at of a task given one after its attempt began", got.CreatedAt, atSec(5))
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		errs, err := tasks.CreateFinished(t.Context(), nil)
		ok(t, "create finished, empty", err)
		equal(t, "errors", len(errs), 0)
	})

	t.Run("MixedConflicts", func(t *testing.T) {
		t.Parallel()
		again, untouched := existingAgain(t, s)
		a, b := fresh(0, ""), fresh(1, "")
		items := []store.NewFinish{
			{Task: a, Lease: 1, Outcome: completed(1), At: atSec(2)},
			{Task: again, Lease: 2, Outcome: completed(1), At: atSec(2)},
			{Task: b, Lease: 3, Outcome: completed(1), At: atSec(2)},
			{Task: a, Lease: 4, Outcome: completed(3), At: atSec(4)}, // another delivery of a, in the same batch
		}
		errs, err := tasks.CreateFinished(t.Context(), items)
		ok(t, "create finished", err)
		equal(t, "per-item errors", len(errs), len(items))
		ok(t, "new task a", errs[0])
		isErr(t, "existing id", errs[1], store.ErrConflict)
		ok(t, "new task b", errs[2])
		isErr(t, "id repeated in the batch", errs[3], store.ErrConflict)
		untouched(t)
		got, err := tasks.Get(t.Context(), a.ID)
		ok(t, "get a", err)
		if got.Status != actors.StatusCompleted || got.Lease != 1 || got.Attempts != 1 || !got.UpdatedAt.Equal(atSec(2)) {
			t.Errorf("a after the batch: %+v; want completed under the first item's lease at 2 s, one attempt", got)
		}
	})

	t.Run("BadItems", func(t *testing.T) {
		t.Parallel()
		good, unknownUser, malformed := badTasks("finished")
		notFinal, noStart, badResult := fresh(3, ""), fresh(4, ""), fresh(5, "")
		errs, err := tasks.CreateFinished(t.Context(), []store.NewFinish{
			{Task: good, Lease: 1, Outcome: completed(1), At: atSec(2)},
			{Task: unknownUser, Lease: 2, Outcome: completed(1), At: atSec(2)},
			{Task: malformed, Lease: 3, Outcome: completed(1), At: atSec(2)},
			{Task: notFinal, Lease: 4, Outcome: store.Outcome{Status: actors.StatusRunning, StartedAt: atSec(1)}, At: atSec(2)},
			{Task: noStart, Lease: 5, Outcome: store.Outcome{Status: actors.StatusCompleted}, At: atSec(2)},
			{Task: badResult, Lease: 6, Outcome: store.Outcome{Status: actors.StatusCompleted,
				Result: json.RawMessage(`{"open":`), StartedAt: atSec(1)}, At: atSec(2)},
		})
		ok(t, "create finished", err)
		equal(t, "per-item errors", len(errs), 6)
		ok(t, "good task", errs[0])
		got, err := tasks.Get(t.Context(), good.ID)
		ok(t, "good task stored", err)
		equal(t, "good task", got.Status, actors.StatusCompleted)

		likeCreateBatch(t, tasks, unknownUser.UserID, errs[1], errs[2])
		for i, task := range []actors.Task{notFinal, noStart, badResult} {
			if errs[3+i] == nil {
				t.Errorf("item %d (%s): nil error", 3+i, task.Name)
			}
			_, err := tasks.Get(t.Context(), task.ID)
			isErr(t, task.Name+" not stored", err, store.ErrNotFound)
		}
		_, err = tasks.Get(t.Context(), unknownUser.ID)
		isErr(t, "task of an unknown user not stored", err, store.ErrNotFound)
	})
}
