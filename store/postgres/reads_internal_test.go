package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// TestConcurrentReadsShareStatements holds the pool's only connection
// while the first reads take every statement slot and the rest of 64 queue
// behind them, then lets go: the first reads run alone, the rest in one
// statement after them, and each gets
// its own answer: its task, store.ErrNotFound for a missing one, the same
// task twice for an id asked twice (in another spelling), and a reader
// that gave up does not fail the others. It does so for both readers: of
// rows (Get, one statement at a time) and of whole tasks
// (GetWithAttempts, two).
func TestConcurrentReadsShareStatements(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		inFlight int
		reader   func(db *DB) *taskReads
		get      func(db *DB, ctx context.Context, id string) (store.Task, error)
	}{
		{"rows", 1, func(db *DB) *taskReads { return db.reads }, func(db *DB, ctx context.Context, id string) (store.Task, error) {
			return db.Tasks().Get(ctx, id)
		}},
		{"details", 2, func(db *DB) *taskReads { return db.details }, func(db *DB, ctx context.Context, id string) (store.Task, error) {
			task, _, err := db.Tasks().(tasks).GetWithAttempts(ctx, id)
			return task, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := migratedDB(t, Options{PoolSize: 1, MaxOverflow: -1, MinConns: 1})
			r := tc.reader(db)
			if r.inFlight != tc.inFlight {
				t.Fatalf("%d statements at once, want %d", r.inFlight, tc.inFlight)
			}
			testReadsShareStatements(t, db, r, func(ctx context.Context, id string) (store.Task, error) { return tc.get(db, ctx, id) })
		})
	}
}

func testReadsShareStatements(t *testing.T, db *DB, reads *taskReads, read func(ctx context.Context, id string) (store.Task, error)) {
	ctx := t.Context()
	const n = 64
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		if i%8 == 7 {
			continue // every eighth is never created
		}
		err := db.Tasks().Create(ctx, actors.Task{ID: ids[i], Name: "read me", Type: "read_job",
			Priority: actors.PriorityNormal, MaxAttempts: 1, CreatedAt: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
	}
	ids[n-2] = strings.ToUpper(ids[1]) // the same task as ids[1], spelt otherwise

	held, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := reads.statements.Load()
	type answer struct {
		task store.Task
		err  error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	get := func(i int, ctx context.Context) {
		answers[i].task, answers[i].err = read(ctx, ids[i])
	}
	lead := reads.inFlight
	// takeSlots starts the first reads, which take every statement slot
	// and wait for the connection.
	takeSlots := func() {
		for i := range lead {
			wg.Go(func() { get(i, ctx) })
			waitFor(t, "a leading read to start", func() bool {
				reads.mu.Lock()
				defer reads.mu.Unlock()
				return reads.running == i+1 && len(reads.queue) == 0
			})
		}
	}
	takeSlots()
	quitter, quit := context.WithCancel(ctx)
	for i := lead; i < n; i++ {
		c := ctx
		if i == n-1 {
			c = quitter
		}
		wg.Go(func() { get(i, c) })
	}
	waitFor(t, "the other reads to queue", func() bool {
		reads.mu.Lock()
		defer reads.mu.Unlock()
		return len(reads.queue) == n-lead
	})
	quit()
	held.Release()
	wg.Wait()

	if got := reads.statements.Load() - before; got != int64(lead+1) {
		t.Errorf("%d reads ran %d statements, want %d", n, got, lead+1)
	}
	for i, a := range answers {
		switch {
		case i == n-1:
			if !errors.Is(a.err, context.Canceled) {
				t.Errorf("read %d, whose caller gave up: %v, want context.Canceled", i, a.err)
			}
		case i%8 == 7:
			if !errors.Is(a.err, store.ErrNotFound) {
				t.Errorf("read %d, of a missing task: %v, want store.ErrNotFound", i, a.err)
			}
		case i == n-2:
			if a.err != nil || a.task.ID != ids[1] {
				t.Errorf("read %d, of task %s spelt %s: %q, %v", i, ids[1], ids[i], a.task.ID, a.err)
			}
		default:
			if a.err != nil || a.task.ID != ids[i] || a.task.Name != "read me" {
				t.Errorf("read %d: %q %q, %v; want task %s", i, a.task.ID, a.task.Name, a.err, ids[i])
			}
		}
	}
	// Idle again: the next read runs at once, alone.
	if _, err := read(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := reads.statements.Load() - before; got != int64(lead+2) {
		t.Errorf("after an idle read, %d statements, want %d", got, lead+2)
	}

	// Reads whose callers all left while they queued run no statement.
	if held, err = db.pool.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	takeSlots()
	gone, leave := context.WithCancel(ctx)
	leave()
	for i := 1; i < 4; i++ {
		if _, err := read(gone, ids[i]); !errors.Is(err, context.Canceled) {
			t.Errorf("read with a cancelled context: %v, want context.Canceled", err)
		}
	}
	held.Release()
	wg.Wait()
	waitFor(t, "the reader to go idle", func() bool {
		reads.mu.Lock()
		defer reads.mu.Unlock()
		return reads.running == 0
	})
	for i := range lead {
		if answers[i].err != nil {
			t.Errorf("leading read %d: %v", i, answers[i].err)
		}
	}
	if got := reads.statements.Load() - before; got != int64(2*lead+2) {
		t.Errorf("after reads whose callers left, %d statements, want %d", got, 2*lead+2)
	}
}

// waitFor polls cond until it holds, failing t after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
