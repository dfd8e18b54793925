package postgres

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// TestGetEndedAnswersAsTheFinishLeftIt finishes tasks in every way a batch
// ends one and checks that GetEnded answers exactly as a read does; then
// changes the rows behind the store's back to show which answers came
// from the rows FinishBatch kept: only first attempts, only once GetEnded
// has been asked for, not after Revive, and not once endedKeep is over.
func TestGetEndedAnswersAsTheFinishLeftIt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := migratedDB(t, Options{})
	repo := tasks{db}
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
			if _, err := db.pool.Exec(ctx, `UPDATE tasks SET name = 'renamed' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Before anyone asks, nothing is kept.
	early := create("early")
	start(early, 1)
	finish(store.Finished{ID: early, Lease: 1, At: at.Add(time.Second), Outcome: store.Outcome{Status: actors.StatusCompleted}})
	if n := len(db.ended.rows); n != 0 {
		t.Fatalf("%d rows kept before GetEnded was called", n)
	}
	rename(early)
	if got, _, err := repo.GetEnded(ctx, early); err != nil || got.Name != "renamed" {
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
		gotTask, gotList, gotErr := repo.GetEnded(ctx, id)
		wantTask, wantList, wantErr := repo.GetWithAttempts(ctx, id)
		if !reflect.DeepEqual(gotTask, wantTask) || !reflect.DeepEqual(gotList, wantList) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("task %s: GetEnded = %+v, %+v, %v\nread = %+v, %+v, %v", id, gotTask, gotList, gotErr, wantTask, wantList, wantErr)
		}
	}
	if _, _, err := repo.GetEnded(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetEnded of a missing task: %v, want ErrNotFound", err)
	}

	// Which answers were kept: the first attempts, not the second.
	rename(first, deferred, second, dead)
	for id, want := range map[string]string{first: "first", deferred: "deferred", second: "renamed", dead: "dead"} {
		if got, _, err := repo.GetEnded(ctx, id); err != nil || got.Name != want {
			t.Errorf("GetEnded(%s).Name = %q, %v; want %q", id, got.Name, err, want)
		}
	}
	// A revived task is read again.
	if err := repo.Revive(ctx, dead, at.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := repo.GetEnded(ctx, dead); err != nil || got.Status != actors.StatusPending {
		t.Errorf("GetEnded of a revived task: status %q, %v; want pending", got.Status, err)
	}
	// A kept row is served for endedKeep at most.
	db.ended.mu.Lock()
	row := db.ended.rows[first]
	row.at = row.at.Add(-endedKeep - time.Millisecond)
	db.ended.rows[first] = row
	db.ended.mu.Unlock()
	if got, _, err := repo.GetEnded(ctx, first); err != nil || got.Name != "renamed" {
		t.Errorf("GetEnded after endedKeep = %q, %v; want the row as read", got.Name, err)
	}
}

// TestEndedRowsKeepsTheNewestWithinBounds fills the kept rows past their
// count and then past their byte budget: the oldest go first, and the
// bytes counted are always those of the rows kept.
func TestEndedRowsKeepsTheNewestWithinBounds(t *testing.T) {
	t.Parallel()
	var e endedRows
	check := func(what string) {
		t.Helper()
		sum := 0
		for _, r := range e.rows {
			sum += r.size
		}
		if sum != e.bytes || e.bytes > endedBudget || len(e.rows) > endedCap {
			t.Fatalf("%s: %d rows of %d bytes, counted %d; bounds %d rows, %d bytes", what, len(e.rows), sum, e.bytes, endedCap, endedBudget)
		}
	}
	idOf := func(i int) string {
		return uuid.NewSHA1(uuid.Nil, []byte{byte(i >> 16), byte(i >> 8), byte(i)}).String()
	}
	batch := func(from, n int, params int) endedBatch {
		b := endedBatch{}
		for i := from; i < from+n; i++ {
			task := store.Task{Attempts: 1, Status: actors.StatusCompleted}
			task.ID = idOf(i)
			task.Parameters = json.RawMessage(`"` + strings.Repeat("x", params) + `"`)
			b.add(task, []byte("[]"))
		}
		return b
	}
	for from := 0; from < endedCap+100; from += 50 {
		e.keep(batch(from, 50, 10))
		check("by count")
	}
	if _, ok := e.get(idOf(0)); ok {
		t.Error("the oldest row is still kept past the count")
	}
	if _, ok := e.get(idOf(endedCap + 99)); !ok {
		t.Error("the newest row is not kept")
	}
	big := endedMaxBytes - 2
	for from := 100_000; from < 100_000+endedBudget/big+64; from += 16 {
		e.keep(batch(from, 16, big))
		check("by size")
	}
	if _, ok := e.get(idOf(endedCap + 99)); ok {
		t.Error("a small old row is still kept past the byte budget")
	}
	e.forget(idOf(100_000 + endedBudget/big + 63))
	check("after forget")
	if _, ok := e.get(idOf(100_000 + endedBudget/big + 63)); ok {
		t.Error("a forgotten row is still kept")
	}
	if b := batch(0, 1, endedMaxBytes); len(b) != 0 {
		t.Error("a row larger than endedMaxBytes is kept")
	}
}
