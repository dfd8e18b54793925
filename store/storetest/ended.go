package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// RunEnded checks a store's GetEnded, for a store that has it (else it
// skips): it finishes tasks in every way a batch ends one and checks that
// GetEnded answers exactly as GetWithAttempts does; then it renames the
// rows behind the store's back (setName, which writes the task's name
// with the backend's own SQL) to tell which answers came from what
// FinishBatch kept: only first attempts, only once GetEnded has been
// called, and never a task revived since.
func RunEnded(t *testing.T, s store.Store, setName func(t *testing.T, id, name string)) {
	ctx := t.Context()
	repo := s.Tasks()
	ended, ok := repo.(interface {
		GetEnded(ctx context.Context, id string) (store.Task, []store.Attempt, error)
	})
	if !ok {
		t.Skip("the store has no GetEnded")
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	create := func(name string) string {
		t.Helper()
		id := uuid.NewString()
		err := repo.Create(ctx, actors.Task{ID: id, Name: name, Type: "end_job", Priority: actors.PriorityHigh,
			Parameters: json.RawMessage(`{"n": 1}`), MaxAttempts: 3, CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	start := func(id string, lease int64) {
		t.Helper()
		if _, err := repo.Start(ctx, id, lease, at.Add(time.Duration(lease)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	finish := func(items ...store.Finished) []error {
		t.Helper()
		errs, err := repo.FinishBatch(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		return errs
	}
	rename := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			setName(t, id, "renamed")
		}
	}
	// Before anyone asks, nothing is kept.
	early := create("early")
	start(early, 1)
	finish(store.Finished{ID: early, Lease: 1, At: at.Add(time.Second), Outcome: store.Outcome{Status: actors.StatusCompleted}})
	rename(early)
	if got, _, err := ended.GetEnded(ctx, early); err != nil || got.Name != "renamed" {
		t.Fatalf("GetEnded of a task ended before anyone asked = %q, %v; want the row as read", got.Name, err)
	}

	first := create("first")       // started, then completed
	deferred := create("deferred") // never started: its start comes with its outcome
	second := create("second")     // requeued once, completed on its second attempt
	dead := create("dead")         // dead-lettered by its outcome, then revived
	missing := uuid.NewString()    // never created
	start(first, 1)
	start(second, 1)
	if err := repo.Requeue(ctx, second, 1, "worker gave up", at.Add(2*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start(second, 2)
	start(dead, 1)
	errs := finish(
		store.Finished{ID: first, Lease: 1, At: at.Add(time.Second), Outcome: store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"ok": true}`)}},
		store.Finished{ID: deferred, Lease: 7, At: at.Add(time.Second), Outcome: store.Outcome{Status: actors.StatusFailed, ErrorMessage: "bad input", StartedAt: at.Add(500 * time.Millisecond)}},
		store.Finished{ID: second, Lease: 2, At: at.Add(time.Second), Outcome: store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"try": 2}`)}},
		store.Finished{ID: dead, Lease: 1, At: at.Add(time.Second), Outcome: store.Outcome{Status: actors.StatusDeadLetter, ErrorMessage: "poison"}},
		store.Finished{ID: missing, Lease: 1, At: at.Add(time.Second), Outcome: store.Outcome{Status: actors.StatusCompleted}},
	)
	for i, err := range errs[:4] {
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	if errs[4] == nil {
		t.Fatal("finishing a missing task did not fail")
	}
	for _, id := range []string{first, deferred, second, dead, missing} {
		gotTask, gotList, gotErr := ended.GetEnded(ctx, id)
		wantTask, wantList, wantErr := repo.GetWithAttempts(ctx, id)
		if !reflect.DeepEqual(gotTask, wantTask) || !reflect.DeepEqual(gotList, wantList) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("task %s: GetEnded = %+v, %+v, %v\nread = %+v, %+v, %v", id, gotTask, gotList, gotErr, wantTask, wantList, wantErr)
		}
	}
	if _, _, err := ended.GetEnded(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetEnded of a missing task: %v, want ErrNotFound", err)
	}

	// Which answers were kept: the first attempts, not the second.
	rename(first, deferred, second, dead)
	for id, want := range map[string]string{first: "first", deferred: "deferred", second: "renamed", dead: "dead"} {
		if got, _, err := ended.GetEnded(ctx, id); err != nil || got.Name != want {
			t.Errorf("GetEnded(%s).Name = %q, %v; want %q", id, got.Name, err, want)
		}
	}
	// A revived task is read again.
	if err := repo.Revive(ctx, dead, at.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := ended.GetEnded(ctx, dead); err != nil || got.Status != actors.StatusPending {
		t.Errorf("GetEnded of a revived task: status %q, %v; want pending", got.Status, err)
	}
}
