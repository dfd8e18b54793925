package sqlite_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// TestCreateBatchConflictText checks that a task refused inside a chunk gets
// the very error Create gives it, not only the same sentinel: the batch
// falls back to Create's statement for the chunk.
func TestCreateBatchConflictText(t *testing.T) {
	t.Parallel()
	tasks := migrated(t).Tasks()
	fresh := func(i int) actors.Task {
		return actors.Task{ID: uuid.Must(uuid.NewV7()).String(), Name: fmt.Sprintf("t%d", i), Type: "code_review"}
	}
	existing := fresh(-1)
	if err := tasks.Create(t.Context(), existing); err != nil {
		t.Fatalf("create: %v", err)
	}
	want := tasks.Create(t.Context(), existing)
	if !errors.Is(want, store.ErrConflict) {
		t.Fatalf("create again: %v, want a conflict", want)
	}
	for name, create := range map[string]func([]actors.Task) ([]error, error){
		"CreateBatch": func(ts []actors.Task) ([]error, error) { return tasks.CreateBatch(t.Context(), ts) },
		"EnqueueBatch": func(ts []actors.Task) ([]error, error) {
			_, errs, err := tasks.EnqueueBatch(t.Context(), ts)
			return errs, err
		},
	} {
		batch := make([]actors.Task, 8)
		for i := range batch {
			batch[i] = fresh(i)
		}
		batch[5] = existing
		errs, err := create(batch)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, err := range errs {
			switch {
			case i == 5 && (err == nil || err.Error() != want.Error()):
				t.Errorf("%s: task %d: %v, want %v", name, i, err, want)
			case i != 5 && err != nil:
				t.Errorf("%s: task %d: %v", name, i, err)
			}
		}
	}
}
