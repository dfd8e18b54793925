package runner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/supervisor"
)

// TestObserverCountsFinishedTasks: the node tells its Observer of every
// task that reaches a final status, once, with its type and status.
func TestObserverCountsFinishedTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg := prometheus.NewRegistry()
	tm, err := runner.NewTaskMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	k := kind("observed", func(_ context.Context, task actors.Task) (actors.Result, error) {
		if string(task.Parameters) == `{"fail":true}` {
			return actors.Result{}, actors.Permanent(errors.New("refused"))
		}
		return actors.JSONResult(map[string]any{"ok": true})
	})
	b.runNode(t, runner.NodeConfig{
		Kinds:   []actors.Kind{k},
		Workers: 2, AckWait: 2 * time.Second,
		Backoff:  supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
		Logger:   b.log,
		Observer: tm,
	})

	sub := b.submitter()
	for _, params := range []string{`{"a":1}`, `{"a":2}`, `{"fail":true}`} {
		task := newTask("observed_job", params)
		if err := sub.Submit(t.Context(), task); err != nil {
			t.Fatal(err)
		}
		waitFinal(t, b.db.Tasks(), task.ID)
	}
	// The observer runs just after the outcome is committed: wait for it.
	waitFor(t, func() bool {
		got := finished(t, reg)
		return got["completed"] == 2 && got["failed"] == 1 && len(got) == 2
	})
}

// finished reads tasks_total{type="observed_job"} by status.
func finished(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "tasks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["type"] == "observed_job" {
				out[labels["status"]] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
