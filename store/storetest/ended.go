package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	endedFromTasks(t, s, ended.GetEnded, setName)
}

// endedFromTasks: a finish whose items carry their tasks (store.Finished's
// Task, as the runtime passes them) may keep rows built from those tasks
// rather than returned by its statement. Each must equal a read, however
// the task was written when it was submitted: JSON with its keys out of
// order, repeated, escaped, numbers with exponents; no priority; a
// creation time finer than a microsecond and in another zone.
func endedFromTasks(t *testing.T, s store.Store, getEnded func(context.Context, string) (store.Task, []store.Attempt, error),
	setName func(t *testing.T, id, name string)) {
	ctx := t.Context()
	repo := s.Tasks()
	user := newUser(t, s)
	at := time.Now()
	docs := []struct{ params, result string }{
		{`{"b": 2, "a": 1}`, `{"ok":true}`},
		{`{"zz":[1.50,1e2,-0,0.0e-1],"a":"\u00e9\/\n","a":"last","":{}}`, `{"y":{"d":1,"c":[]},"x":12.5E-1}`},
		{`{"emoji":"\ud83d\ude00","tab":"\t","ctl":"\u0007"}`, ``},
		{``, `{"n":123456789012345678901234567890.000}`},
	}
	var items []store.Finished
	for i, d := range docs {
		task := actors.Task{ID: newID(), Name: fmt.Sprintf("built %d", i), Description: "from its task",
			Type: "end_job", Parameters: json.RawMessage(d.params), UserID: user.ID, MaxAttempts: i,
			CreatedAt: at.In(time.FixedZone("UTC+5", 5*3600))}
		if err := repo.Create(ctx, task); err != nil {
			t.Fatal(err)
		}
		it := store.Finished{ID: task.ID, Lease: int64(10 + i), At: at.Add(time.Second), Task: &task,
			Outcome: store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(d.result)}}
		if i%2 == 0 {
			if _, err := repo.Start(ctx, task.ID, it.Lease, at.Add(time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		} else { // a deferred start: the outcome brings it
			it.Outcome.StartedAt = at.Add(2 * time.Millisecond)
		}
		items = append(items, it)
	}
	errs, err := repo.FinishBatch(ctx, items)
	if err == nil {
		err = errors.Join(errs...)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		gotTask, gotList, gotErr := getEnded(ctx, it.ID)
		wantTask, wantList, wantErr := repo.GetWithAttempts(ctx, it.ID)
		if gotErr != nil || wantErr != nil || !reflect.DeepEqual(gotTask, wantTask) || !reflect.DeepEqual(gotList, wantList) {
			t.Errorf("task %s, built from its task: GetEnded = %+v, %+v, %v\nread = %+v, %+v, %v",
				it.ID, gotTask, gotList, gotErr, wantTask, wantList, wantErr)
		}
		setName(t, it.ID, "renamed")
		if got, _, err := getEnded(ctx, it.ID); err != nil || got.Name != it.Task.Name {
			t.Errorf("GetEnded(%s).Name = %q, %v; want %q, the row kept", it.ID, got.Name, err, it.Task.Name)
		}
	}
}
