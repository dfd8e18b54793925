package procstat

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/store/postgres/pgtest"
)

// TestPostgresCPU reads a made-up /proc: the postmaster's own ticks and
// those of its reaped backends count, a live backend's own ticks count
// and its children's do not (they would be counted twice), and other
// commands, unreadable entries and malformed lines are left out.
func TestPostgresCPU(t *testing.T) {
	root := t.TempDir()
	proc := func(pid, comm, stat string) {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string]string{"comm": comm + "\n", "stat": stat} {
			if body == "" {
				continue // not there
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Fields after the command: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime ...
	proc("100", "postgres", "100 (postgres) S 1 100 100 0 -1 0 0 0 0 0 10 5 300 20 20 0 1 0")
	proc("101", "postgres", "101 (postgres: 15/main: a (b) c) S 100 100 100 0 -1 0 0 0 0 0 7 3 99 1 20 0 1 0")
	proc("102", "bash", "102 (bash) S 1 102 102 0 -1 0 0 0 0 0 1000 1000 0 0 20 0 1 0")
	proc("103", "postgres", "103 (postgres) S 100 truncated")
	proc("104", "postgres", "") // no stat: ended between the two reads
	proc("self", "postgres", "1 (postgres) S 0 0 0 0 -1 0 0 0 0 0 5000 0 0 0 20 0 1 0")

	got, ok := Postgres(root)
	// 100: 10+5 own, 300+20 reaped; 101: 7+3 own.
	if want := 345 * time.Second / UserHZ; !ok || got != want {
		t.Errorf("Postgres = %v, %v; want %v, true", got, ok, want)
	}

	if _, ok := Postgres(t.TempDir()); ok {
		t.Error("a /proc without postgres processes gave a reading")
	}
	if _, ok := Postgres(filepath.Join(root, "missing")); ok {
		t.Error("a missing /proc gave a reading")
	}
}

// TestPostgresCPUOfALocalServer checks the reading against the PostgreSQL
// the tests use, when it runs on this machine: work done by a backend that
// then closes is counted.
func TestPostgresCPUOfALocalServer(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	dbURL := pgtest.NewDatabase(t)
	before, ok := Postgres("/proc")
	if !ok {
		t.Skip("the test PostgreSQL's processes are not visible from here (another machine or container)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// Work enough for a few of /proc's 10 ms ticks, however fast the host.
	if _, err := conn.Exec(ctx, `SELECT count(*) FROM generate_series(1, 3000000)`); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The backend has ended; its ticks move to the postmaster once reaped.
	var after time.Duration
	for range 50 {
		if after, _ = Postgres("/proc"); after-before >= 50*time.Millisecond {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("PostgreSQL's CPU went from %v to %v across a query of three million rows, want at least 50ms more", before, after)
}
