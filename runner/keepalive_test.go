package runner_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/supervisor"
)

// slowOnce is an agent whose first call outlasts the 2 s ack deadline of
// these tests and whose later calls return at once; each result names its
// call. returned counts the calls that have come back.
func slowOnce(calls, returned *atomic.Int64) agentFunc {
	return func(ctx context.Context, _ actors.Task) (actors.Result, error) {
		defer returned.Add(1)
		n := calls.Add(1)
		if n == 1 {
			select {
			case <-time.After(3500 * time.Millisecond):
			case <-ctx.Done():
				return actors.Result{}, ctx.Err()
			}
		}
		return actors.JSONResult(map[string]int64{"call": n})
	}
}

// TestSlowTaskKeepsItsLease: a handler slower than AckWait keeps its
// message with InProgress, so it is not delivered again and has one result.
func TestSlowTaskKeepsItsLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls, returned atomic.Int64
	b.startNode(t, 30*time.Second, kind("slowkept", slowOnce(&calls, &returned)))
	task := newTask("slowkept_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || string(got.Result) != `{"call":1}` || got.Attempts != 1 {
		t.Errorf("task %s attempts %d result %s; want completed once by the first call", got.Status, got.Attempts, got.Result)
	}
	waitFor(t, func() bool { return b.streamEmpty(t) })
	if n := calls.Load(); n != 1 {
		t.Errorf("agent ran %d times, want 1", n)
	}
}

// TestRedeliveryWhileRunningOneResult disables the keep-alive, so the slow
// first call loses its ack deadline and the task is delivered again while
// it runs: the second delivery takes the task over under the same lease,
// and the task still has exactly one result; the first call's late outcome
// changes nothing.
func TestRedeliveryWhileRunningOneResult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls, returned atomic.Int64
	cfg := runner.NodeConfig{
		Conn: b.conn, Tasks: b.db.Tasks(), Supervisor: b.sup, Kinds: []actors.Kind{kind("slowlost", slowOnce(&calls, &returned))},
		Workers: 2, TaskTimeout: 30 * time.Second, AckWait: 2 * time.Second, RetryBase: 1.01,
		Backoff: supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
		Logger:  b.log,
	}
	runner.DisableKeepAlive(&cfg)
	b.runNode(t, cfg)
	task := newTask("slowlost_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	got := waitFinal(t, b.db.Tasks(), task.ID)
	// Wait for the first call to come back too: its outcome is refused.
	waitFor(t, func() bool { return returned.Load() == 2 && b.streamEmpty(t) })
	after, err := b.db.Tasks().Get(t.Context(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != actors.StatusCompleted || string(got.Result) != `{"call":2}` ||
		after.Status != got.Status || string(after.Result) != string(got.Result) {
		t.Errorf("task %s result %s, later %s %s; want one result, from the second delivery",
			got.Status, got.Result, after.Status, after.Result)
	}
	attempts, err := b.db.Tasks().Attempts(t.Context(), task.ID)
	if err != nil || len(attempts) != 2 || attempts[0].Status != "crashed" || attempts[1].Status != "completed" {
		t.Errorf("attempts %+v, %v; want the lost one crashed and the second completed", attempts, err)
	}
}
