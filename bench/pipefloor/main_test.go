package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store/postgres/pgtest"
	"github.com/ymera/ymera/store/sqlite"
)

// TestPipelineEndsEachTaskInItsRow drives the bare pipeline the way the
// bench does: a POST that waits answers with its task completed, and the
// row in YMERA's tasks table says so; bad requests get problem details.
func TestPipelineEndsEachTaskInItsRow(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	base := startFloor(t, options{database: dsn})
	post := posting(t, base)

	ids := postWaiting(t, post, 20)
	status, m := post("", `{"name":"n","task_type":"bench_noop"}`)
	if status != http.StatusCreated || m["task"] != nil || m["task_id"] == "" {
		t.Fatalf("POST /tasks = %d %v, want 201 with a task id and no task", status, m)
	}

	conn := connect(t, dsn)
	checkCompleted(t, conn, ids)

	for _, c := range []struct{ query, body string }{
		{"", `{"name":`},
		{"", `{"name":"n"}`},
		{"?wait=soon", `{"name":"n","task_type":"t"}`},
		{"?wait=2h", `{"name":"n","task_type":"t"}`},
	} {
		status, m := post(c.query, c.body)
		if status < 400 || status > 499 || m["detail"] == nil {
			t.Errorf("POST /tasks%s %s = %d %v, want a 4xx with problem details", c.query, c.body, status, m)
		}
	}

	resp, err := http.Get(base + "/tasks/" + ids[0])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"status":"completed"`) {
		t.Errorf("GET /tasks/{id} = %d %s, want 200 and completed", resp.StatusCode, b)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "process_cpu_seconds_total") {
		t.Errorf("GET /metrics has no process_cpu_seconds_total, which the bench reads the server's CPU from:\n%s", b)
	}
}

// TestBareSchemaLeavesThePrimaryKeyAlone runs the pipeline with -schema
// bare: the tasks table keeps its primary key and nothing else that
// PostgreSQL maintains on a write, and the tasks still end in their rows.
func TestBareSchemaLeavesThePrimaryKeyAlone(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := t.Context()
	base := startFloor(t, options{database: dsn, bare: true})
	ids := postWaiting(t, posting(t, base), 5)

	conn := connect(t, dsn)
	checkCompleted(t, conn, ids)
	for _, c := range []struct{ what, query string }{
		{"indexes", `SELECT string_agg(i.relname, ',' ORDER BY i.relname) FROM pg_index x
			JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = 'tasks'::regclass`},
		{"constraints", `SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint
			WHERE conrelid = 'tasks'::regclass`},
		{"triggers", `SELECT coalesce(string_agg(tgname, ',' ORDER BY tgname), '') FROM pg_trigger
			WHERE tgrelid = 'tasks'::regclass AND NOT tgisinternal`},
	} {
		var got string
		if err := conn.QueryRow(ctx, c.query).Scan(&got); err != nil {
			t.Fatal(err)
		}
		want := "tasks_pkey"
		if c.what == "triggers" {
			want = ""
		}
		if got != want {
			t.Errorf("tasks %s after -schema bare: %q, want %q", c.what, got, want)
		}
	}
}

// TestSQLiteFloorEndsEachTaskInItsRow runs the pipeline on a SQLite file:
// each waited task answers completed, and its row, read back through the
// floor's GET and from the file, says so.
func TestSQLiteFloorEndsEachTaskInItsRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "floor.db")
	base := startFloor(t, options{store: "sqlite", database: path})
	ids := postWaiting(t, posting(t, base), 10)
	for _, id := range ids {
		resp, err := http.Get(base + "/tasks/" + id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"status":"completed"`) {
			t.Errorf("GET /tasks/%s = %d %s, want 200 and completed", id, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(base + "/tasks/" + uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /tasks/{unknown id} = %d, want 404", resp.StatusCode)
	}

	db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range ids {
		task, err := db.Tasks().Get(t.Context(), id)
		if err != nil || task.Status != actors.StatusCompleted || task.Attempts != 1 || string(task.Parameters) != `{"k":1}` {
			t.Errorf("task %s in the file: %+v, %v; want completed by one attempt with its parameters", id, task, err)
		}
	}
}

// TestFloodMakesEachTasksRowFinished runs -via nats: every published
// task ends as one completed row, made by the result writers (two here,
// sharing the batches), and the report counts them all with the CPU they
// cost.
func TestFloodMakesEachTasksRowFinished(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var out bytes.Buffer
	const tasks = 300
	o := options{database: dsn, via: "nats", tasks: tasks, publishers: 3, pubBatch: 7, out: &out,
		linger: 200 * time.Microsecond, batch: 16, conns: 3, resultWriters: 2}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		t.Fatalf("run -via nats: %v", err)
	}
	var r floodReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("report %q: %v", out.Bytes(), err)
	}
	if r.Tasks != tasks || r.CompletedPerSec <= 0 || r.Seconds <= 0 || r.CPU.ProcessUSPerTask <= 0 {
		t.Errorf("report %+v, want %d tasks at a positive rate, with this process's CPU", r, tasks)
	}
	var rows, finished int
	if err := connect(t, dsn).QueryRow(t.Context(), `SELECT count(*), count(*) FILTER (WHERE status = 'completed'
		AND attempts = 1 AND task_type = 'bench_noop' AND parameters = '{}' AND user_id IS NOT NULL
		AND completed_at IS NOT NULL) FROM tasks`).Scan(&rows, &finished); err != nil {
		t.Fatal(err)
	}
	if rows != tasks || finished != tasks {
		t.Errorf("%d task rows, %d of them completed by one attempt; want %d and %d", rows, finished, tasks, tasks)
	}
}

// TestStartFailureIsAnError: a database that cannot be reached, or one
// that refuses the tasks' user once the pool and nothing else is up, is an
// error from run after what was set up is taken down, not a crash; and
// runs one after another on the same database each make a user of their
// own.
func TestStartFailureIsAnError(t *testing.T) {
	for _, via := range []string{"http", "nats"} {
		o := options{database: "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", via: via,
			addr: "127.0.0.1:0", batch: 16, conns: 2, resultWriters: 1, tasks: 1, publishers: 1, pubBatch: 1}
		if err := run(t.Context(), o); err == nil {
			t.Errorf("-via %s on a database nobody serves: no error", via)
		}
	}

	dsn := pgtest.NewDatabase(t)
	o := options{database: dsn, via: "nats", batch: 16, conns: 2, resultWriters: 1, tasks: 1, publishers: 1, pubBatch: 1,
		out: io.Discard}
	for i := range 2 {
		if err := run(t.Context(), o); err != nil {
			t.Fatalf("run %d on the same database: %v", i+1, err)
		}
	}
	if _, err := connect(t, dsn).Exec(t.Context(),
		`ALTER TABLE users ADD CONSTRAINT no_floor CHECK (username NOT LIKE 'floor\_%') NOT VALID`); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), o); err == nil || !strings.Contains(err.Error(), "tasks' user") {
		t.Errorf("run on a database that refuses the tasks' user: %v, want that error", err)
	}
}

// startFloor runs the pipeline on o (with a test's address and small
// batches) until the test ends, and returns its base URL.
func startFloor(t *testing.T, o options) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	o.addr, o.linger, o.batch, o.conns, o.resultWriters = "127.0.0.1:0", 200*time.Microsecond, 16, 2, 1
	o.listening = func(addr string) { addrs <- addr }
	go func() { done <- run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	})
	select {
	case addr := <-addrs:
		return "http://" + addr
	case err := <-done:
		done <- nil // reported here: the cleanup has nothing more to wait for
		t.Fatalf("run: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("not listening after a minute")
	}
	return ""
}

// posting returns a POST /tasks on base that answers its status and JSON.
func posting(t *testing.T, base string) func(query, body string) (int, map[string]any) {
	return func(query, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(base+"/tasks"+query, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("POST /tasks%s: %d %q: %v", query, resp.StatusCode, b, err)
		}
		return resp.StatusCode, m
	}
}

// postWaiting submits n tasks one after another, each waiting for its end,
// and returns their ids; each must answer 201 with its task completed.
func postWaiting(t *testing.T, post func(query, body string) (int, map[string]any), n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for range n {
		status, m := post("?wait=10s", `{"name":"n","task_type":"bench_noop","parameters":{"k":1}}`)
		task, _ := m["task"].(map[string]any)
		if status != http.StatusCreated || task == nil || task["status"] != "completed" || task["id"] != m["task_id"] {
			t.Fatalf("POST /tasks?wait=10s = %d %v, want 201 with its task completed", status, m)
		}
		ids = append(ids, m["task_id"].(string))
	}
	return ids
}

// connect opens a connection to dsn for the rest of the test.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// checkCompleted fails the test unless every task in ids is a completed
// row with the parameters postWaiting sent.
func checkCompleted(t *testing.T, conn *pgx.Conn, ids []string) {
	t.Helper()
	var completed int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM tasks WHERE id = ANY($1::uuid[]) AND status = 'completed'
		AND parameters = '{"k":1}' AND user_id IS NOT NULL AND completed_at IS NOT NULL`, ids).Scan(&completed); err != nil {
		t.Fatal(err)
	}
	if completed != len(ids) {
		t.Errorf("%d of %d waited tasks are completed rows", completed, len(ids))
	}
}
