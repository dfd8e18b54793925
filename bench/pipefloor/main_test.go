package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/store/postgres/pgtest"
)

// TestPipelineEndsEachTaskInItsRow drives the bare pipeline the way the
// bench does: a POST that waits answers with its task completed, and the
// row in YMERA's tasks table says so; bad requests get problem details.
func TestPipelineEndsEachTaskInItsRow(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{addr: "127.0.0.1:0", database: dsn, linger: 200 * time.Microsecond, batch: 16,
			conns: 2, listening: func(addr string) { addrs <- addr }})
	}()
	var base string
	select {
	case addr := <-addrs:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("not listening after a minute")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	}()

	post := func(query, body string) (int, map[string]any) {
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

	ids := make([]string, 0, 20)
	for range 20 {
		status, m := post("?wait=10s", `{"name":"n","task_type":"bench_noop","parameters":{"k":1}}`)
		task, _ := m["task"].(map[string]any)
		if status != http.StatusCreated || task == nil || task["status"] != "completed" || task["id"] != m["task_id"] {
			t.Fatalf("POST /tasks?wait=10s = %d %v, want 201 with its task completed", status, m)
		}
		ids = append(ids, m["task_id"].(string))
	}
	status, m := post("", `{"name":"n","task_type":"bench_noop"}`)
	if status != http.StatusCreated || m["task"] != nil || m["task_id"] == "" {
		t.Fatalf("POST /tasks = %d %v, want 201 with a task id and no task", status, m)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var completed int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE id = ANY($1::uuid[]) AND status = 'completed'
		AND parameters = '{"k":1}' AND user_id IS NOT NULL AND completed_at IS NOT NULL`, ids).Scan(&completed); err != nil {
		t.Fatal(err)
	}
	if completed != len(ids) {
		t.Errorf("%d of %d waited tasks are completed rows", completed, len(ids))
	}

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
