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
	"github.com/ymera/ymera/store/postgres/pgtest"
)

// TestConcurrentReadsShareStatements holds the pool's only connection
// while one read starts and 63 more queue behind it, then lets go: the
// first read runs alone, the 63 in one statement after it, and each gets
// its own answer: its task, store.ErrNotFound for a missing one, the same
// task twice for an id asked twice (in another spelling), and a reader
// that gave up does not fail the others.
func TestConcurrentReadsShareStatements(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := Open(ctx, pgtest.NewDatabase(t), Options{PoolSize: 1, MaxOverflow: -1, MinConns: 1})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
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
	before := db.reads.statements.Load()
	type answer struct {
		task store.Task
		err  error
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	get := func(i int, ctx context.Context) {
		answers[i].task, answers[i].err = db.Tasks().Get(ctx, ids[i])
	}
	wg.Go(func() { get(0, ctx) })
	waitFor(t, "the first read to start", func() bool {
		db.reads.mu.Lock()
		defer db.reads.mu.Unlock()
		return db.reads.running && len(db.reads.queue) == 0
	})
	quitter, quit := context.WithCancel(ctx)
	for i := 1; i < n; i++ {
		c := ctx
		if i == n-1 {
			c = quitter
		}
		wg.Go(func() { get(i, c) })
	}
	waitFor(t, "63 reads to queue", func() bool {
		db.reads.mu.Lock()
		defer db.reads.mu.Unlock()
		return len(db.reads.queue) == n-1
	})
	quit()
	held.Release()
	wg.Wait()

	if got := db.reads.statements.Load() - before; got != 2 {
		t.Errorf("%d reads ran %d statements, want 2", n, got)
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
	if _, err := db.Tasks().Get(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := db.reads.statements.Load() - before; got != 3 {
		t.Errorf("after an idle read, %d statements, want 3", got)
	}

	// Reads whose callers all left while they queued run no statement.
	if held, err = db.pool.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { get(0, ctx) })
	waitFor(t, "the first read to start", func() bool {
		db.reads.mu.Lock()
		defer db.reads.mu.Unlock()
		return db.reads.running && len(db.reads.queue) == 0
	})
	gone, leave := context.WithCancel(ctx)
	leave()
	for i := 1; i < 4; i++ {
		if _, err := db.Tasks().Get(gone, ids[i]); !errors.Is(err, context.Canceled) {
			t.Errorf("read with a cancelled context: %v, want context.Canceled", err)
		}
	}
	held.Release()
	wg.Wait()
	waitFor(t, "the reader to go idle", func() bool {
		db.reads.mu.Lock()
		defer db.reads.mu.Unlock()
		return !db.reads.running
	})
	if answers[0].err != nil {
		t.Errorf("first read: %v", answers[0].err)
	}
	if got := db.reads.statements.Load() - before; got != 4 {
		t.Errorf("after reads whose callers left, %d statements, want 4", got)
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
