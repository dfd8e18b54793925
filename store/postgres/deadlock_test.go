package postgres_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/postgres"
	"github.com/ymera/ymera/store/postgres/pgtest"
)

// TestStartBatchRunsAgainAfterDeadlock crosses a StartBatch with another
// transaction so that PostgreSQL must abort one: the batch locks the lower
// id and waits for the higher, which the other holds; the other then asks
// for the lower. The server aborts the batch (its wait began first, so its
// deadlock check runs first), and StartBatch runs it again once the other
// has committed: both tasks start, and the caller sees no error.
func TestStartBatchRunsAgainAfterDeadlock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	ids := []string{uuid.NewString(), uuid.NewString()}
	if a, b := uuid.MustParse(ids[0]), uuid.MustParse(ids[1]); bytes.Compare(a[:], b[:]) > 0 {
		ids[0], ids[1] = ids[1], ids[0]
	}
	low, high := ids[0], ids[1]
	for _, id := range []string{low, high} {
		err := db.Tasks().Create(ctx, actors.Task{ID: id, Name: "crossed", Type: "crossed_job",
			Priority: actors.PriorityNormal, MaxAttempts: 1, CreatedAt: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
	}

	connect := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	other, watch := connect(), connect()
	// Only the batch's session looks for the deadlock (after its default
	// deadlock_timeout of 1 s), so it is the one aborted.
	if _, err := other.Exec(ctx, "SET deadlock_timeout = '60s'"); err != nil {
		t.Fatal(err)
	}
	deadlocks := func() int64 {
		var n int64
		if err := watch.QueryRow(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", high); err != nil {
		t.Fatal(err)
	}

	type result struct {
		ts   []store.Task
		errs []error
		err  error
	}
	done := make(chan result, 1)
	go func() {
		now := time.Now().UTC()
		ts, errs, err := db.Tasks().StartBatch(ctx, []store.Starting{
			{ID: high, Lease: 1, At: now}, {ID: low, Lease: 2, At: now}})
		done <- result{ts, errs, err}
	}()
	// The batch holds the low row and waits for the high one.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting bool
		err := watch.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE tasks%'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the row held by the other transaction")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Waits for the batch's lock on the low row until the server aborts the
	// batch.
	if _, err := tx.Exec(ctx, "UPDATE tasks SET updated_at = now() WHERE id = $1", low); err != nil {
		t.Fatalf("the other transaction was aborted, not the batch: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	r := <-done
	if r.err != nil {
		t.Fatalf("StartBatch after a deadlock: %v", r.err)
	}
	for i, id := range []string{high, low} {
		if r.errs[i] != nil || r.ts[i].Status != actors.StatusRunning || r.ts[i].Attempts != 1 {
			t.Errorf("task %s: %s, attempts %d, %v; want running, 1", id, r.ts[i].Status, r.ts[i].Attempts, r.errs[i])
		}
	}
	// The aborted session reports its deadlock to the statistics within a
	// second or so. At least one is what shows the server aborted the
	// batch, which StartBatch then ran again; the count is the cumulative
	// statistics', and one run on a loaded machine (CI's parallel packages)
	// counted two for this crossing while everything else above held.
	for wait := time.Now().Add(10 * time.Second); deadlocks()-before < 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("the server counted %d deadlocks, want at least 1", deadlocks()-before)
		}
	}
}
