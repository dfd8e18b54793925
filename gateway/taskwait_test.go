package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/store"
)

// firstRead passes reads through to the store and closes read when the
// first read of a task has returned: a waiting GET has then found its task
// unfinished and is waiting.
type firstRead struct {
	gateway.TaskReader
	read chan struct{}
	once sync.Once
}

func (f *firstRead) Get(ctx context.Context, id string) (store.Task, error) {
	defer f.once.Do(func() { close(f.read) })
	return f.TaskReader.Get(ctx, id)
}

func (f *firstRead) GetWithAttempts(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	defer f.once.Do(func() { close(f.read) })
	return f.TaskReader.(interface {
		GetWithAttempts(context.Context, string) (store.Task, []store.Attempt, error)
	}).GetWithAttempts(ctx, id)
}

// getTask sends GET /tasks/{id} with query over a real connection, with a
// client timeout far below the waits asked for, so that a wait that should
// not happen fails the test instead of passing slowly.
func (w *wsBundle) getTask(t *testing.T, token, id, query string) (int, map[string]any) {
	t.Helper()
	return w.call(t, http.MethodGet, "/tasks/"+id+"?"+query, token, nil)
}

// postTask sends POST /tasks with query and body as getTask sends its GET.
func (w *wsBundle) postTask(t *testing.T, token, query string, body map[string]any) (int, map[string]any) {
	t.Helper()
	return w.call(t, http.MethodPost, "/tasks?"+query, token, body)
}

func (w *wsBundle) call(t *testing.T, method, path, token string, body map[string]any) (int, map[string]any) {
	t.Helper()
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		in = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(t.Context(), method, w.base+path, in)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	r.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: wsWait}).Do(r)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Errorf("body is not a JSON object: %v\n%s", err, out)
	}
	return resp.StatusCode, m
}

// TestGetTaskWaitsForEnd: GET /tasks/{id}?wait= sent while the task runs
// answers with the finished task once it ends, told by the task's events;
// without a waiter, by reading the task again each second.
func TestGetTaskWaitsForEnd(t *testing.T) {
	t.Parallel()
	eachWaiter(t, func(t *testing.T, waiter bool) {
		reads := &firstRead{read: make(chan struct{})}
		w := wsSetupWaiter(t, waiter, func(o *gateway.Options) {
			reads.TaskReader = o.Tasks
			o.Tasks = reads
		})
		alice, _ := w.register(t, "alice")
		id := w.submit(t, alice, task("waited for"))

		type answer struct {
			status int
			body   map[string]any
		}
		got := make(chan answer, 1)
		go func() {
			status, body := w.getTask(t, alice, id, "wait=14s")
			got <- answer{status, body}
		}()
		<-reads.read // the GET found the task unfinished
		w.release <- struct{}{}
		a := <-got
		if a.status != http.StatusOK || a.body["status"] != "completed" {
			t.Fatalf("GET ?wait=14s: %d %v, want 200 and the task completed", a.status, a.body)
		}
		if r, _ := a.body["result"].(map[string]any); r["ok"] != "yes" {
			t.Errorf("result %v, want the agent's", a.body["result"])
		}
	})
}

// wsSetupWaiter is wsSetup with opt, and without a TaskWaiter unless
// waiter.
func wsSetupWaiter(t *testing.T, waiter bool, opt func(*gateway.Options)) *wsBundle {
	return wsSetup(t, func(o *gateway.Options) {
		opt(o)
		if !waiter {
			o.TaskWaiter = nil
		}
	})
}

// eachWaiter runs f as parallel subtests: with a gateway told of task ends
// by the task events (waiter true), and with one told of none, whose waits
// read the task again each second.
func eachWaiter(t *testing.T, f func(t *testing.T, waiter bool)) {
	for _, tc := range []struct {
		name   string
		waiter bool
	}{{"events", true}, {"rereads", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f(t, tc.waiter)
		})
	}
}

// TestGetTaskWaitEnds: a wait that ends first answers 200 with the task
// unfinished; someone else's task is a 404 at once, never waited for.
func TestGetTaskWaitEnds(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, _ := w.register(t, "alice")
	bob, _ := w.register(t, "bob")
	id := w.submit(t, alice, task("never released"))

	status, body := w.getTask(t, alice, id, "wait=200ms")
	if status != http.StatusOK || (body["status"] != "queued" && body["status"] != "running") {
		t.Fatalf("GET ?wait=200ms of a running task: %d %v, want 200 and queued or running", status, body)
	}
	// The client's timeout (wsWait) is below the wait: a 404 must not wait.
	if status, body := w.getTask(t, bob, id, "wait=60s"); status != http.StatusNotFound {
		t.Fatalf("GET ?wait=60s of another user's task: %d %v, want 404", status, body)
	}
}

// TestGetTaskWaitRefusesBadValues: a wait that is not a duration from 0s
// to 60s is a 400 naming it.
func TestGetTaskWaitRefusesBadValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, _ := b.register(t, "alice")
	id := b.submit(t, tok, task("t"))
	for _, v := range []string{"soon", "10", "-1s", "61s", "1h"} {
		p := b.do(t, req{method: http.MethodGet, path: "/tasks/" + id + "?wait=" + v, token: tok}).
			problem(t, http.StatusBadRequest, gateway.ProblemValidation)
		errs, _ := p["errors"].([]any)
		first, _ := errs[0].(map[string]any)
		if len(errs) != 1 || first["location"] != "query.wait" || first["value"] != v {
			t.Errorf("wait=%s: errors %v, want one naming query.wait and %q", v, p["errors"], v)
		}
	}
	if r := b.do(t, req{method: http.MethodGet, path: "/tasks/" + id + "?wait=0s", token: tok}); r.status != http.StatusOK {
		t.Errorf("wait=0s: %d %s, want 200 at once", r.status, r.body)
	}
}

// TestGetTaskWaitEndsAtShutdown: a waiting GET answers, with the task
// unfinished, as soon as the server begins to shut down, rather than
// holding the shutdown for the rest of its wait.
func TestGetTaskWaitEndsAtShutdown(t *testing.T) {
	t.Parallel()
	reads := &firstRead{read: make(chan struct{})}
	w := wsSetup(t, func(o *gateway.Options) {
		reads.TaskReader = o.Tasks
		o.Tasks = reads
	})
	alice, _ := w.register(t, "alice")
	id := w.submit(t, alice, task("never released"))

	got := make(chan int, 1)
	go func() {
		// The client's timeout (wsWait) is below the wait.
		status, _ := w.getTask(t, alice, id, "wait=60s")
		got <- status
	}()
	<-reads.read
	ctx, cancel := context.WithTimeout(t.Context(), wsWait)
	defer cancel()
	if err := w.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a GET waiting: %v", err)
	}
	if status := <-got; status != http.StatusOK {
		t.Fatalf("waiting GET at shutdown: %d, want 200", status)
	}
}

// countedReads passes reads through to the store and counts them by kind.
// It reads a task its caller was told ended (GetEnded, which a store may
// answer from the row it just wrote) as any other with its attempts.
type countedReads struct {
	gateway.TaskReader
	rows, details, ended atomic.Int64
}

func (c *countedReads) GetEnded(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	c.ended.Add(1)
	return c.TaskReader.(interface {
		GetWithAttempts(context.Context, string) (store.Task, []store.Attempt, error)
	}).GetWithAttempts(ctx, id)
}

func (c *countedReads) Get(ctx context.Context, id string) (store.Task, error) {
	c.rows.Add(1)
	return c.TaskReader.Get(ctx, id)
}

func (c *countedReads) GetWithAttempts(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	c.details.Add(1)
	return c.TaskReader.(interface {
		GetWithAttempts(context.Context, string) (store.Task, []store.Attempt, error)
	}).GetWithAttempts(ctx, id)
}

// TestGetTaskWaitTrackedReadsOnce: a task submitted through this gateway
// while it watches task events is tracked, and its owner's waiting GET
// reads it once, for the answer, whether it ends before or during the
// wait, and reads it as a task it was told ended. Someone else's GET of it
// still reads first and is a 404 at once.
func TestGetTaskWaitTrackedReadsOnce(t *testing.T) {
	t.Parallel()
	reads := &countedReads{}
	w := wsSetup(t, func(o *gateway.Options) {
		reads.TaskReader = o.Tasks
		o.Tasks = reads
	})
	alice, _ := w.register(t, "alice")
	bob, _ := w.register(t, "bob")

	// The first waiting GET starts the watch; its task, submitted before,
	// is not tracked and is read first.
	first := w.submit(t, alice, task("before the watch"))
	w.release <- struct{}{}
	if status, body := w.getTask(t, alice, first, "wait=14s"); status != http.StatusOK || body["status"] != "completed" {
		t.Fatalf("GET ?wait=14s: %d %v, want 200 and completed", status, body)
	}
	if n := reads.rows.Load(); n != 1 {
		t.Fatalf("an untracked task's wait read its row %d times, want 1 (before waiting)", n)
	}

	for _, endsFirst := range []bool{true, false} {
		reads.rows.Store(0)
		reads.details.Store(0)
		reads.ended.Store(0)
		id := w.submit(t, alice, task("tracked"))
		got := make(chan map[string]any, 1)
		wait := func() {
			status, body := w.getTask(t, alice, id, "wait=14s")
			if status != http.StatusOK {
				t.Errorf("GET ?wait=14s: %d %v, want 200", status, body)
			}
			got <- body
		}
		if endsFirst {
			w.release <- struct{}{}
			// The task is over once a GET without wait says so; that
			// GET's own read is counted, and taken off below.
			for {
				status, body := w.getTask(t, alice, id, "")
				if status == http.StatusOK && body["status"] == "completed" {
					break
				}
				if t.Context().Err() != nil {
					t.Fatal("the task did not complete")
				}
			}
			reads.details.Store(0)
			wait()
		} else {
			go wait()
			w.release <- struct{}{}
		}
		if body := <-got; body["status"] != "completed" {
			t.Fatalf("ended first %v: answer %v, want the task completed", endsFirst, body)
		}
		if rows, details, ended := reads.rows.Load(), reads.details.Load(), reads.ended.Load(); rows != 0 || details != 0 || ended != 1 {
			t.Errorf("ended first %v: a tracked task's wait read %d rows, %d details and %d ended tasks, want 0, 0 and 1",
				endsFirst, rows, details, ended)
		}
	}

	reads.rows.Store(0)
	id := w.submit(t, alice, task("alice's"))
	if status, body := w.getTask(t, bob, id, "wait=60s"); status != http.StatusNotFound {
		t.Fatalf("bob's GET ?wait=60s of alice's tracked task: %d %v, want 404 at once", status, body)
	}
	if n := reads.rows.Load(); n != 1 {
		t.Errorf("bob's wait read the row %d times, want 1", n)
	}
	w.release <- struct{}{}
}

// TestSubmitTaskWaits: POST /tasks?wait= answers 201 once the task has
// ended, with the task in the answer, told by the task's events or,
// without a waiter, by reading the task again each second. A task
// submitted while the gateway watches task events is read once, as a task
// it was told ended.
func TestSubmitTaskWaits(t *testing.T) {
	t.Parallel()
	eachWaiter(t, func(t *testing.T, waiter bool) {
		reads := &countedReads{}
		w := wsSetupWaiter(t, waiter, func(o *gateway.Options) {
			reads.TaskReader = o.Tasks
			o.Tasks = reads
		})
		alice, _ := w.register(t, "alice")
		// Two rounds: with events, the first wait starts the watch,
		// and only the second task is submitted under it.
		for round := range 2 {
			reads.rows.Store(0)
			reads.details.Store(0)
			reads.ended.Store(0)
			w.release <- struct{}{}
			status, body := w.postTask(t, alice, "wait=14s", task("submitted and waited for"))
			if status != http.StatusCreated || body["status"] != "created" {
				t.Fatalf("round %d: POST ?wait=14s: %d %v, want 201 and created", round, status, body)
			}
			got, _ := body["task"].(map[string]any)
			if got["id"] != body["task_id"] || got["status"] != "completed" {
				t.Fatalf("round %d: task %v, want task %v completed", round, got, body["task_id"])
			}
			if r, _ := got["result"].(map[string]any); r["ok"] != "yes" {
				t.Errorf("round %d: result %v, want the agent's", round, got["result"])
			}
			if h, _ := got["attempt_history"].([]any); len(h) != 1 {
				t.Errorf("round %d: attempt_history %v, want the one attempt", round, got["attempt_history"])
			}
			if rows, details, ended := reads.rows.Load(), reads.details.Load(), reads.ended.Load(); waiter && round == 1 &&
				(rows != 0 || details != 0 || ended != 1) {
				t.Errorf("a tracked task's wait read %d rows, %d details and %d ended tasks, want 0, 0 and 1", rows, details, ended)
			}
		}
	})
}

// TestSubmitTaskWaitEnds: a POST whose wait runs out first still answers
// 201, with the task as it then is.
func TestSubmitTaskWaitEnds(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, _ := w.register(t, "alice")
	status, body := w.postTask(t, alice, "wait=200ms", task("never released"))
	got, _ := body["task"].(map[string]any)
	if status != http.StatusCreated || got["id"] != body["task_id"] || (got["status"] != "queued" && got["status"] != "running") {
		t.Fatalf("POST ?wait=200ms: %d %v, want 201 with the task queued or running", status, body)
	}
	// Without a wait, the answer is the seed's: no task.
	status, body = w.postTask(t, alice, "", task("not waited for"))
	if _, ok := body["task"]; status != http.StatusCreated || ok {
		t.Fatalf("POST without wait: %d %v, want 201 without task", status, body)
	}
	status, body = w.postTask(t, alice, "wait=0s", task("not waited for either"))
	if _, ok := body["task"]; status != http.StatusCreated || ok {
		t.Fatalf("POST ?wait=0s: %d %v, want 201 without task", status, body)
	}
}

// failingReads fails every read of a task: the store is down for reads.
type failingReads struct{ gateway.TaskReader }

var errReadsDown = errors.New("reads are down")

func (failingReads) Get(context.Context, string) (store.Task, error) {
	return store.Task{}, errReadsDown
}

func (failingReads) GetWithAttempts(context.Context, string) (store.Task, []store.Attempt, error) {
	return store.Task{}, nil, errReadsDown
}

func (failingReads) GetEnded(context.Context, string) (store.Task, []store.Attempt, error) {
	return store.Task{}, nil, errReadsDown
}

// TestSubmitTaskWaitCannotRead: a task that is created but cannot be read
// back while the POST waits is still a 201 with its id, only without task:
// an error would tell the client to submit it again.
func TestSubmitTaskWaitCannotRead(t *testing.T) {
	t.Parallel()
	var db gateway.TaskReader
	w := wsSetup(t, func(o *gateway.Options) {
		db = o.Tasks
		o.Tasks = failingReads{o.Tasks}
	})
	alice, _ := w.register(t, "alice")
	for round := range 2 { // untracked, then tracked (the first wait starts the watch)
		w.release <- struct{}{}
		status, body := w.postTask(t, alice, "wait=14s", task("cannot be read back"))
		id, _ := body["task_id"].(string)
		if _, ok := body["task"]; status != http.StatusCreated || id == "" || ok {
			t.Fatalf("round %d: POST ?wait=14s with reads down: %d %v, want 201 with task_id and no task", round, status, body)
		}
		if _, err := db.Get(t.Context(), id); err != nil {
			t.Fatalf("round %d: the task answered 201 is not stored: %v", round, err)
		}
	}
}

// TestSubmitTaskWaitRefusesBadValues: a POST with a wait that is not a
// duration from 0s to 60s is a 400 naming it, and creates no task.
func TestSubmitTaskWaitRefusesBadValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, _ := b.register(t, "alice")
	for _, v := range []string{"soon", "10", "-1s", "61s", "1h"} {
		p := b.do(t, req{method: http.MethodPost, path: "/tasks?wait=" + v, body: task("t"), token: tok}).
			problem(t, http.StatusBadRequest, gateway.ProblemValidation)
		errs, _ := p["errors"].([]any)
		first, _ := errs[0].(map[string]any)
		if len(errs) != 1 || first["location"] != "query.wait" || first["value"] != v {
			t.Errorf("wait=%s: errors %v, want one naming query.wait and %q", v, p["errors"], v)
		}
	}
	var list []any
	if err := json.Unmarshal(b.do(t, req{method: http.MethodGet, path: "/tasks", token: tok}).wantStatus(t, http.StatusOK).body, &list); err != nil || len(list) != 0 {
		t.Errorf("refused submissions left %v (%v), want no task", list, err)
	}
}
