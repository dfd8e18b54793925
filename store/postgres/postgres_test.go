package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/postgres"
	"github.com/ymera/ymera/store/postgres/pgtest"
	"github.com/ymera/ymera/store/storetest"
)

// open opens a store on a fresh database, closed when t ends (before the
// database is dropped: cleanups run last-registered first).
func open(t *testing.T, opts postgres.Options) *postgres.DB {
	t.Helper()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// migrated opens a store on a fresh migrated database, closed when t ends.
func migrated(t *testing.T, opts postgres.Options) *postgres.DB {
	t.Helper()
	return postgres.MigratedDB(t, opts)
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return migrated(t, postgres.Options{}) })
}

// TestAdvisories: the server's autovacuum setting, read here on its own,
// decides whether Advisories warns about it.
func TestAdvisories(t *testing.T) {
	t.Parallel()
	db := migrated(t, postgres.Options{})
	var autovacuum string
	if err := db.Pool().QueryRow(t.Context(), `SHOW autovacuum`).Scan(&autovacuum); err != nil {
		t.Fatal(err)
	}
	advice, err := db.Advisories(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	warned := len(advice) == 1 && strings.Contains(advice[0], "autovacuum is off")
	if warned != (autovacuum == "off") || (autovacuum == "on" && len(advice) != 0) {
		t.Errorf("autovacuum %s: advisories %q", autovacuum, advice)
	}
}

// TestEnded checks GetEnded, which answers from the rows FinishBatch kept.
func TestEnded(t *testing.T) {
	t.Parallel()
	db := migrated(t, postgres.Options{})
	storetest.RunEnded(t, db, func(t *testing.T, id, name string) {
		if _, err := db.Pool().Exec(t.Context(), `UPDATE tasks SET name = $2 WHERE id = $1`, id, name); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	db := open(t, postgres.Options{})
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

	status(false) // Open does not migrate
	if _, err := db.Users().Count(ctx); err == nil {
		t.Error("Count on an unmigrated database succeeded")
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	status(true)
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
	if err := db.MigrateDown(ctx); err == nil {
		t.Error("down with nothing applied succeeded")
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	status(true)

	// The indexes GET /tasks and the sweep rely on exist.
	rows, err := db.Pool().Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	have := strings.Join(names, " ")
	for _, want := range []string{
		"idx_agents_status", "idx_agents_owner_id",
		"idx_projects_owner_id", "idx_submissions_project_id", "idx_projects_name_search",
		"idx_tasks_user_id_status_id", "idx_tasks_status_id",
		"idx_tasks_pending_created_at", "file_versions_file_id_version_key",
	} {
		if !strings.Contains(" "+have+" ", " "+want+" ") {
			t.Errorf("index %s missing; have %s", want, have)
		}
	}
	var def string
	err = db.Pool().QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'tasks'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%status%'`).Scan(&def)
	if err != nil {
		t.Fatalf("the check on tasks.status: %v", err)
	}
	storetest.StatusCheck(t, def)
	// 00004 drops the seed's (user_id) and (status), which the composite
	// indexes cover, and 00006 (user_id, id DESC), which pages read
	// status by status instead.
	for _, gone := range []string{"idx_tasks_user_id", "idx_tasks_status", "idx_tasks_user_id_id"} {
		if strings.Contains(" "+have+" ", " "+gone+" ") {
			t.Errorf("index %s still there", gone)
		}
	}
}

// TestAttemptsMigration moves a database with attempt history across
// migration 00004 and back; see storetest.AttemptsMigration.
func TestAttemptsMigration(t *testing.T) {
	t.Parallel()
	db := migrated(t, postgres.Options{})
	storetest.AttemptsMigration(t, db, func(t *testing.T) int {
		var n int
		err := db.Pool().QueryRow(t.Context(), `SELECT count(*) FROM task_attempts WHERE finished_at IS NULL`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	})
}

// TestConcurrentMigrateUp runs MigrateUp from several stores at once, as
// replicas starting together would: the advisory lock lets one apply.
func TestConcurrentMigrateUp(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := postgres.Open(t.Context(), url, postgres.Options{})
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.MigrateUp(t.Context())
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent migrate up: %v", err)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	// postgresql:// is the seed's spelling; pgx takes both.
	url = "postgresql://" + strings.TrimPrefix(url, "postgres://")
	db, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("ping over postgresql://: %v", err)
	}
	cfg := db.Pool().Config()
	if cfg.MaxConns != 30 || cfg.MinConns != 2 || cfg.MaxConnLifetime != time.Hour {
		t.Errorf("pool max %d min %d lifetime %v; want 30, 2, 1h (the seed's defaults)", cfg.MaxConns, cfg.MinConns, cfg.MaxConnLifetime)
	}
	if cfg.ConnConfig.DefaultQueryExecMode != pgx.QueryExecModeCacheDescribe {
		t.Errorf("exec mode %v, want QueryExecModeCacheDescribe", cfg.ConnConfig.DefaultQueryExecMode)
	}
	if db.Backend() != "postgres" {
		t.Errorf("Backend() = %q", db.Backend())
	}

	db2, err := postgres.Open(t.Context(), url, postgres.Options{PoolSize: 5, MaxOverflow: -1, MinConns: 9, PoolRecycle: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	cfg = db2.Pool().Config()
	if cfg.MaxConns != 5 || cfg.MinConns != 5 || cfg.MaxConnLifetime != time.Minute {
		t.Errorf("pool max %d min %d lifetime %v; want 5, 5, 1m", cfg.MaxConns, cfg.MinConns, cfg.MaxConnLifetime)
	}

	if _, err := postgres.Open(t.Context(), "mysql://nope", postgres.Options{}); err == nil {
		t.Error("Open accepted a mysql:// URL")
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1.
	db, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", postgres.Options{})
	if err != nil {
		t.Fatalf("open must not connect: %v", err)
	}
	defer db.Close()
	if err := db.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("ping: %v, want ErrUnavailable", err)
	}
	_, err = db.Tasks().Get(t.Context(), "0190a000-0000-7000-8000-000000000000")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("get: %v, want ErrUnavailable", err)
	}
}

func TestPoolTimeout(t *testing.T) {
	t.Parallel()
	db := migrated(t, postgres.Options{PoolSize: 1, MaxOverflow: -1, PoolTimeout: 100 * time.Millisecond})
	held, err := db.Pool().Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = db.Users().Count(t.Context())
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("count with the pool exhausted: %v, want ErrUnavailable", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("waited %v for a connection, want about PoolTimeout", waited)
	}
	held.Release()
	if _, err := db.Users().Count(t.Context()); err != nil {
		t.Errorf("count after release: %v", err)
	}

	// The caller's own cancellation is not the database's fault.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = db.Users().Count(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("count with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil)) // info level: echo must show
	db := migrated(t, postgres.Options{Echo: true, Logger: log})
	err := db.Users().Create(t.Context(), store.User{
		ID: "0190a000-0000-7000-8000-000000000001", Username: "echo", Email: "echo@example.com",
		HashedPassword: "secret-password-hash",
	})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "INSERT INTO users") {
		t.Errorf("echo did not log the statement:\n%s", out)
	}
	if strings.Contains(out, "secret-password-hash") {
		t.Errorf("echo logged an argument:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the pool's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
