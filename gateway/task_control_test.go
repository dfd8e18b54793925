package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
)

// cancelRequests records what a runner.Canceller tells the nodes (NATS in
// production): cancel requests, and tasks listed as cancelled before they
// started.
type cancelRequests struct {
	mu     sync.Mutex
	ids    []string
	listed []string
}

func (c *cancelRequests) PublishCancel(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
	return nil
}

func (c *cancelRequests) MarkCancelled(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listed = append(c.listed, id)
	return nil
}

func (c *cancelRequests) sent() (requests, listed []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...), append([]string(nil), c.listed...)
}

// TestCancelTask covers POST /tasks/{task_id}/cancel: a task not started
// is cancelled (200), a running one is announced to the nodes (202), a
// final one conflicts (409), and another user's task does not exist (404).
func TestCancelTask(t *testing.T) {
	t.Parallel()
	reqs := &cancelRequests{}
	b := setup(t, func(o *gateway.Options) {
		o.Canceller = &runner.Canceller{Tasks: o.Tasks.(store.Tasks), Nodes: reqs}
	})
	token, _ := b.register(t, "canceller")
	other, _ := b.register(t, "bystander")
	ctx := context.Background()
	tasks := b.db.Tasks()
	cancel := func(tok, id string) response {
		return b.do(t, req{method: "POST", path: "/tasks/" + id + "/cancel", token: tok})
	}

	queued := b.submit(t, token, task("queued"))
	m := cancel(token, queued).wantStatus(t, http.StatusOK).object(t)
	if m["task_id"] != queued || m["status"] != "cancelled" {
		t.Errorf("cancel queued: %v", m)
	}
	got, err := tasks.Get(ctx, queued)
	must(t, err)
	if got.Status != actors.StatusCancelled {
		t.Errorf("queued task is %s after cancel", got.Status)
	}

	running := b.submit(t, token, task("running"))
	_, err = tasks.Start(ctx, running, 11, time.Now())
	must(t, err)
	m = cancel(token, running).wantStatus(t, http.StatusAccepted).object(t)
	if m["task_id"] != running || m["status"] != "cancelling" {
		t.Errorf("cancel running: %v", m)
	}
	// A queued task is listed for the nodes and announced too, in case
	// one took it that moment (runner/deferred.go); a running one announced.
	if s, l := reqs.sent(); !slices.Equal(s, []string{queued, running}) || !slices.Equal(l, []string{queued}) {
		t.Errorf("cancel requests sent: %v, listed %v; want [%s %s] and [%s]", s, l, queued, running, queued)
	}

	done := b.submit(t, token, task("done"))
	_, err = tasks.Start(ctx, done, 12, time.Now())
	must(t, err)
	must(t, tasks.Finish(ctx, done, 12, store.Outcome{Status: actors.StatusCompleted, Result: []byte(`{}`)}, time.Now()))
	p := cancel(token, done).problem(t, http.StatusConflict, gateway.ProblemConflict)
	if p["detail"] != "task already completed" {
		t.Errorf("409 detail %q", p["detail"])
	}
	cancel(token, queued).problem(t, http.StatusConflict, gateway.ProblemConflict)

	mine := b.submit(t, token, task("mine"))
	cancel(other, mine).problem(t, http.StatusNotFound, gateway.ProblemNotFound)
	cancel(token, "0190a7e4-0000-7000-8000-000000000000").problem(t, http.StatusNotFound, gateway.ProblemNotFound)
	cancel(token, "not-a-uuid").problem(t, http.StatusNotFound, gateway.ProblemNotFound)
	got, err = tasks.Get(ctx, mine)
	must(t, err)
	if got.Status == actors.StatusCancelled {
		t.Error("another user cancelled the task")
	}
}

// TestAttemptHistory: GET /tasks/{task_id} shows each attempt and its error.
func TestAttemptHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, _ := b.register(t, "historian")
	id := b.submit(t, token, task("flaky"))
	ctx := context.Background()
	tasks := b.db.Tasks()
	m := b.do(t, req{method: "GET", path: "/tasks/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	if h, ok := m["attempt_history"].([]any); !ok || len(h) != 0 {
		t.Errorf("attempt_history of a new task: %v", m["attempt_history"])
	}
	_, err := tasks.Start(ctx, id, 5, time.Now())
	must(t, err)
	must(t, tasks.Requeue(ctx, id, 5, "model overloaded", time.Now()))
	_, err = tasks.Start(ctx, id, 5, time.Now())
	must(t, err)
	must(t, tasks.Finish(ctx, id, 5, store.Outcome{Status: actors.StatusFailed, ErrorMessage: "still overloaded"}, time.Now()))

	m = b.do(t, req{method: "GET", path: "/tasks/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	h, _ := m["attempt_history"].([]any)
	if len(h) != 2 {
		t.Fatalf("attempt_history %v, want 2 attempts", m["attempt_history"])
	}
	for i, want := range []struct{ status, err string }{{"failed", "model overloaded"}, {"failed", "still overloaded"}} {
		a := h[i].(map[string]any)
		wantKeys(t, "attempt", a, "attempt", "status", "error", "started_at", "finished_at")
		if a["attempt"] != float64(i+1) || a["status"] != want.status || a["error"] != want.err || a["finished_at"] == nil {
			t.Errorf("attempt %d: %v", i+1, a)
		}
	}
	if m["status"] != "failed" || m["error_message"] != "still overloaded" {
		t.Errorf("exhausted task: status %v, error %v", m["status"], m["error_message"])
	}
}

// fakeDLQ is an in-memory dead-letter queue.
type fakeDLQ struct {
	mu      sync.Mutex
	entries []gateway.DeadLetter
	dead    map[string]bool // task is dead_letter
}

func (f *fakeDLQ) DeadLetters(_ context.Context, limit int) ([]gateway.DeadLetter, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gateway.DeadLetter(nil), f.entries[:min(limit, len(f.entries))]...), nil
}

func (f *fakeDLQ) Replay(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, e := range f.entries {
		if e.TaskID != id {
			continue
		}
		if !f.dead[id] {
			return fmt.Errorf("replay: %w", store.ErrConflict)
		}
		f.entries = append(f.entries[:i], f.entries[i+1:]...)
		return nil
	}
	return fmt.Errorf("replay: %w", store.ErrNotFound)
}

// TestDeadLetterAdmin covers /admin/dlq: admins list and replay, everyone
// else is refused with 403.
func TestDeadLetterAdmin(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dlq := &fakeDLQ{
		entries: []gateway.DeadLetter{
			{TaskID: "0190a7e4-0000-7000-8000-000000000001", TaskType: "security_scan", Reason: "delivered 5 times", DeadAt: at, Deliveries: 5},
			{TaskID: "0190a7e4-0000-7000-8000-000000000002", TaskType: "security_scan", Reason: "stale", DeadAt: at, Deliveries: 5},
		},
		dead: map[string]bool{"0190a7e4-0000-7000-8000-000000000001": true},
	}
	b := setup(t, func(o *gateway.Options) { o.DeadLetters = dlq })
	user, _ := b.register(t, "plainuser")
	admin := b.admin(t, "dlqadmin")

	b.do(t, req{method: "GET", path: "/admin/dlq", token: user}).problem(t, http.StatusForbidden, gateway.ProblemForbidden)
	b.do(t, req{method: "POST", path: "/admin/dlq/0190a7e4-0000-7000-8000-000000000001/replay", token: user}).
		problem(t, http.StatusForbidden, gateway.ProblemForbidden)
	b.do(t, req{method: "GET", path: "/admin/dlq"}).wantStatus(t, http.StatusUnauthorized)

	r := b.do(t, req{method: "GET", path: "/admin/dlq?limit=1", token: admin}).wantStatus(t, http.StatusOK)
	var list []map[string]any
	must(t, json.Unmarshal(r.body, &list))
	if len(list) != 1 {
		t.Fatalf("list with limit 1: %s", r.body)
	}
	wantKeys(t, "dead letter", list[0], "task_id", "task_type", "reason", "dead_at", "deliveries")
	if list[0]["deliveries"] != float64(5) || list[0]["dead_at"] != "2026-01-02T03:04:05Z" {
		t.Errorf("entry %v", list[0])
	}
	b.do(t, req{method: "GET", path: "/admin/dlq?limit=0", token: admin}).problem(t, http.StatusBadRequest, gateway.ProblemValidation)

	m := b.do(t, req{method: "POST", path: "/admin/dlq/0190a7e4-0000-7000-8000-000000000001/replay", token: admin}).
		wantStatus(t, http.StatusOK).object(t)
	if m["status"] != "queued" || m["task_id"] != "0190a7e4-0000-7000-8000-000000000001" {
		t.Errorf("replay: %v", m)
	}
	b.do(t, req{method: "POST", path: "/admin/dlq/0190a7e4-0000-7000-8000-000000000001/replay", token: admin}).
		problem(t, http.StatusNotFound, gateway.ProblemNotFound)
	b.do(t, req{method: "POST", path: "/admin/dlq/0190a7e4-0000-7000-8000-000000000002/replay", token: admin}).
		problem(t, http.StatusConflict, gateway.ProblemConflict)
	b.do(t, req{method: "POST", path: "/admin/dlq/nope/replay", token: admin}).
		problem(t, http.StatusNotFound, gateway.ProblemNotFound)
}
