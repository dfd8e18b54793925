package ended

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// TestRowsKeepTheNewestWithinBounds fills the kept rows past their
// count and then past their byte budget: the oldest go first, and the
// bytes counted are always those of the rows kept.
func TestRowsKeepTheNewestWithinBounds(t *testing.T) {
	t.Parallel()
	var e Rows
	check := func(what string) {
		t.Helper()
		sum := 0
		for _, r := range e.rows {
			sum += r.size
		}
		if sum != e.bytes || e.bytes > budget || len(e.rows) > capacity {
			t.Fatalf("%s: %d rows of %d bytes, counted %d; bounds %d rows, %d bytes", what, len(e.rows), sum, e.bytes, capacity, budget)
		}
	}
	idOf := func(i int) string {
		return uuid.NewSHA1(uuid.Nil, []byte{byte(i >> 16), byte(i >> 8), byte(i)}).String()
	}
	batch := func(from, n int, params int) Batch {
		b := Batch{}
		for i := from; i < from+n; i++ {
			task := store.Task{Attempts: 1, Status: actors.StatusCompleted}
			task.ID = idOf(i)
			task.Parameters = json.RawMessage(`"` + strings.Repeat("x", params) + `"`)
			b.Add(task, false)
		}
		return b
	}
	for from := 0; from < capacity+100; from += 50 {
		e.Keep(batch(from, 50, 10))
		check("by count")
	}
	if _, _, ok := e.Get(idOf(0)); ok {
		t.Error("the oldest row is still kept past the count")
	}
	if _, _, ok := e.Get(idOf(capacity + 99)); !ok {
		t.Error("the newest row is not kept")
	}
	big := maxBytes - 2
	for from := 100_000; from < 100_000+budget/big+64; from += 16 {
		e.Keep(batch(from, 16, big))
		check("by size")
	}
	if _, _, ok := e.Get(idOf(capacity + 99)); ok {
		t.Error("a small old row is still kept past the byte budget")
	}
	e.Forget(idOf(100_000 + budget/big + 63))
	check("after forget")
	if _, _, ok := e.Get(idOf(100_000 + budget/big + 63)); ok {
		t.Error("a forgotten row is still kept")
	}
	if b := batch(0, 1, maxBytes); len(b) != 0 {
		t.Error("a row larger than maxBytes is kept")
	}
}

// TestRowsServeFreshRowsOnly: a kept row is served for Keep, its list of
// attempts is the caller's own, a row worth nothing is not kept, and rows
// are wanted only for a while after someone asked.
func TestRowsServeFreshRowsOnly(t *testing.T) {
	t.Parallel()
	var e Rows
	if e.Wanted() {
		t.Fatal("rows are wanted before anyone asked")
	}
	e.Ask()
	if !e.Wanted() {
		t.Fatal("rows are not wanted right after someone asked")
	}
	now := time.Now()
	task := func(id string, attempts int) store.Task {
		t := store.Task{Status: actors.StatusCompleted, Attempts: attempts, StartedAt: &now, UpdatedAt: now}
		t.ID = id
		return t
	}
	b := Batch{}
	b.Add(task("a", 1), false)
	b.Add(task("b", 2), false) // a later attempt
	b.Add(task("c", 1), true)  // attempts stored before
	b.Add(task("d", 1), false)
	b.Drop("d") // its round ran again without it
	e.Keep(b)
	for id, want := range map[string]bool{"a": true, "b": false, "c": false, "d": false} {
		if _, _, ok := e.Get(id); ok != want {
			t.Errorf("Get(%s) kept %v, want %v", id, ok, want)
		}
	}
	_, list, _ := e.Get("a")
	if len(list) != 1 || list[0].Status != string(actors.StatusCompleted) {
		t.Fatalf("attempts of a first attempt that completed: %+v, want that one", list)
	}
	list[0].Status = "changed by a caller"
	if _, again, _ := e.Get("a"); again[0].Status != string(actors.StatusCompleted) {
		t.Error("a caller's change to its list reached the kept row")
	}
	e.mu.Lock()
	r := e.rows["a"]
	r.at = r.at.Add(-Keep - time.Millisecond)
	e.rows["a"] = r
	e.mu.Unlock()
	if _, _, ok := e.Get("a"); ok {
		t.Error("a row older than Keep is still served")
	}
}
