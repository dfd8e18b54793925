package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/breaker"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/supervisor"
)

// TestCallerBreakerThroughNATS runs agent-to-agent calls through the real
// path (submit, JetStream, the callee's pool, the store) and checks that a
// callee that keeps failing opens its breaker, after which calls fail fast
// without reaching it.
func TestCallerBreakerThroughNATS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	breakers := breaker.NewSet(breaker.Config{Threshold: 2, Timeout: time.Hour})
	caller := &runner.Caller{Submitter: b.submitter(), Tasks: b.db.Tasks(), Breakers: breakers, Poll: 50 * time.Millisecond}

	type params struct {
		Fail  bool `json:"fail"`
		Calls int  `json:"calls"`
	}
	callee := kind("callee", func(_ context.Context, tk actors.Task) (actors.Result, error) {
		var p params
		_ = json.Unmarshal(tk.Parameters, &p)
		if p.Fail {
			return actors.Result{}, actors.Permanent(errors.New("callee refuses"))
		}
		return actors.JSONResult(map[string]string{"from": "callee"})
	})
	parent := kind("parent", func(ctx context.Context, tk actors.Task) (actors.Result, error) {
		c, ok := actors.CallerFrom(ctx)
		if !ok {
			return actors.Result{}, actors.Permanent(errors.New("no caller in the task context"))
		}
		var p params
		_ = json.Unmarshal(tk.Parameters, &p)
		sub, _ := json.Marshal(params{Fail: p.Fail})
		var outcomes []string
		for range p.Calls {
			out, err := c.Call(ctx, "callee_job", sub)
			switch {
			case err == nil:
				outcomes = append(outcomes, string(out))
			case errors.Is(err, breaker.ErrCircuitOpen):
				outcomes = append(outcomes, "open")
			case errors.Is(err, runner.ErrCallFailed):
				outcomes = append(outcomes, "failed")
			default:
				outcomes = append(outcomes, "other: "+err.Error())
			}
		}
		return actors.JSONResult(map[string][]string{"outcomes": outcomes})
	})

	b.runNode(t, runner.NodeConfig{
		Kinds:   []actors.Kind{callee, parent},
		Workers: 2, TaskTimeout: 20 * time.Second, AckWait: 5 * time.Second,
		Backoff: supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
		Logger:  b.log, Caller: caller,
	})

	run := func(p params) []string {
		t.Helper()
		raw, _ := json.Marshal(p)
		tk := newTask("parent_job", string(raw))
		if err := b.submitter().Submit(t.Context(), tk); err != nil {
			t.Fatal(err)
		}
		got := waitFinal(t, b.db.Tasks(), tk.ID)
		if got.Status != actors.StatusCompleted {
			t.Fatalf("parent task %s: %s", got.Status, got.ErrorMessage)
		}
		var res struct {
			Outcomes []string `json:"outcomes"`
		}
		if err := json.Unmarshal(got.Result, &res); err != nil {
			t.Fatal(err)
		}
		return res.Outcomes
	}

	if got := run(params{Calls: 1}); len(got) != 1 || got[0] != `{"from":"callee"}` {
		t.Fatalf("healthy call: %v", got)
	}
	// Two failures: the threshold (2) opens the breaker,
	// and the next two calls fail fast.
	got := run(params{Fail: true, Calls: 4})
	want := []string{"failed", "failed", "open", "open"}
	if len(got) != len(want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
	}
	open := breakers.NotClosed()
	if len(open) != 1 || open[0].Target != "agent:callee_job" || open[0].State != breaker.Open {
		t.Errorf("breakers not closed: %v, want agent:callee_job open", open)
	}
	// Fail-fast calls never reached the callee: 1 + 2 callee tasks exist.
	all, err := b.db.Tasks().List(t.Context(), store.TaskFilter{TaskType: "callee_job", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Errorf("%d callee tasks, want 3 (open breaker must not submit)", len(all))
	}
}
