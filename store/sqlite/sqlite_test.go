package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/store/storetest"
)

// open opens a database in a fresh directory (which Open must create) and
// closes it when t ends.
func open(t testing.TB) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "ymera.db")
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return db, path
}

// migrated opens a database in a temporary directory and migrates it up.
func migrated(t testing.TB) *sqlite.DB {
	t.Helper()
	db, _ := open(t)
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return migrated(t) })
}

// TestEnded checks GetEnded, which answers from the rows FinishBatch kept.
func TestEnded(t *testing.T) {
	t.Parallel()
	db := migrated(t)
	storetest.RunEnded(t, db, func(t *testing.T, id, name string) {
		if err := sqlite.SetTaskName(db, id, name); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	db, _ := open(t)
	ctx := t.Context()

	status := func(wantApplied bool) {
		t.Helper()
		st, err := db.MigrateStatus(ctx)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		if len(st) == 0 || st[0].Version != 1 || st[0].Name != "00001_init.sql" {
			t.Fatalf("status lists %+v, want 00001_init.sql first", st)
		}
		for _, m := range st {
			if m.Applied != wantApplied || (m.AppliedAt != nil) != wantApplied {
				t.Errorf("migration %s: applied %v at %v, want applied %v", m.Name, m.Applied, m.AppliedAt, wantApplied)
			}
		}
	}

	// Open does not migrate.
	status(false)
	if _, err := db.Users().Count(ctx); err == nil {
		t.Error("Count on an unmigrated database succeeded")
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	status(true)
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("up when up to date: %v", err)
	}
	// MigrateDown is one step: roll back every migration, newest first.
	all, err := db.MigrateStatus(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for range all {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatalf("down: %v", err)
		}
	}
	status(false)
	if _, err := db.Users().Count(ctx); err == nil {
		t.Error("users table survived migrating down")
	}
	if err := db.MigrateDown(ctx); err == nil {
		t.Error("down with nothing applied succeeded")
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	status(true)
	if n, err := db.Users().Count(ctx); err != nil || n != 0 {
		t.Errorf("count after up again: %d, %v", n, err)
	}
}

// TestAttemptsMigration moves a database with attempt history across
// migration 00004 and back; see storetest.AttemptsMigration.
func TestAttemptsMigration(t *testing.T) {
	t.Parallel()
	db, path := open(t)
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	storetest.AttemptsMigration(t, db, func(t *testing.T) int {
		var n int
		err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM task_attempts WHERE finished_at IS NULL`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	})
	var table string
	err = raw.QueryRowContext(t.Context(), `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'tasks'`).Scan(&table)
	if err != nil {
		t.Fatal(err)
	}
	check := regexp.MustCompile(`CHECK \(status IN \([^)]*\)\)`).FindString(table)
	if check == "" {
		t.Fatalf("no check on status in %s", table)
	}
	storetest.StatusCheck(t, check)
	// 00004 drops the seed's (user_id) and (status) indexes, which the
	// composite ones cover, and 00006 (user_id, id DESC), which pages read
	// status by status instead.
	for name, want := range map[string]bool{
		"idx_tasks_user_id": false, "idx_tasks_status": false, "idx_tasks_user_id_id": false,
		"idx_tasks_user_id_status_id": true, "idx_tasks_status_id": true,
	} {
		var n int
		err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema
			WHERE type = 'index' AND tbl_name = 'tasks' AND name = $1`, name).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if (n == 1) != want {
			t.Errorf("index %s: %d found, want it %v", name, n, want)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	db, path := open(t)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	// WAL is a property of the file: a fresh connection sees it.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}

	for _, bad := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "x.db?mode=ro")} {
		if db, err := sqlite.Open(t.Context(), bad, sqlite.Options{}); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
	if got := db.Backend(); got != "sqlite" {
		t.Errorf("Backend() = %q", got)
	}
}

// TestConcurrentWriters checks that writers queue instead of failing with
// SQLITE_BUSY, while readers keep reading.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	db := migrated(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 100 {
		wg.Go(func() {
			name := fmt.Sprintf("writer-%d", i)
			errs <- db.Users().Create(t.Context(), store.User{
				ID: fmt.Sprintf("0190a000-0000-7000-8000-%012d", i), Username: name, Email: name + "@example.com", HashedPassword: "h",
			})
		})
		wg.Go(func() {
			_, err := db.Users().Count(t.Context())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n, err := db.Users().Count(t.Context()); err != nil || n != 100 {
		t.Errorf("count = %d, %v; want 100", n, err)
	}
	err := db.Users().Create(t.Context(), store.User{ID: "0190a000-0000-7000-8000-000000000000", Username: "x", Email: "x", HashedPassword: "h"})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate id: %v, want ErrConflict", err)
	}
}

// TestLockedByAnotherProcess checks that a write lock held elsewhere past
// the busy timeout is store.ErrUnavailable, which callers may retry.
func TestLockedByAnotherProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ymera.db")
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	err = db.Users().Create(t.Context(), store.User{ID: "0190a000-0000-7000-8000-000000000000", Username: "u", Email: "e", HashedPassword: "h"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("write while another process holds the lock: %v, want ErrUnavailable", err)
	}
	if _, err := db.Users().Count(t.Context()); err != nil {
		t.Errorf("read while another process writes (WAL): %v", err)
	}

	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	err = db.Users().Create(t.Context(), store.User{ID: "0190a000-0000-7000-8000-000000000000", Username: "u", Email: "e", HashedPassword: "h"})
	if err != nil {
		t.Errorf("write after the lock is released: %v", err)
	}
}

// The writer leaves checkpoints (and their fsyncs) to the background
// checkpointer, below its backstop; the checkpointer copies the log into
// the database file.
func TestCheckpointsInTheBackground(t *testing.T) {
	t.Parallel()
	db := migrated(t)
	if pages, err := sqlite.WriterAutocheckpoint(db); err != nil || pages < 1000 {
		t.Fatalf("the writer's wal_autocheckpoint = %d (%v), want a backstop past SQLite's 1000", pages, err)
	}
	for i := range 50 {
		id := fmt.Sprintf("0190a000-0000-7000-8000-%012d", i)
		if err := db.Users().Create(t.Context(), store.User{ID: id, Username: id, Email: id, HashedPassword: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for sqlite.BackfilledFrames(db) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint copied the log within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
