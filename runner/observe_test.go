package runner_test

import (
	"context"
	"errors"
	"sync"
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
	tm, reg := newTaskMetrics(t)
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

// TestTaskMetricsDescribeGroupCommits: TaskMetrics, as the node's Observer
// and the Submitter's Commits, shows every group commit op from the start,
// and the items of the enqueue and finish statements add up to the tasks
// that went through them, with no failure.
func TestTaskMetricsDescribeGroupCommits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tm, reg := newTaskMetrics(t)
	for _, op := range []string{runner.CommitEnqueue, runner.CommitStart, runner.CommitCreateStarted,
		runner.CommitFinish, runner.CommitCreateFinished} {
		if c := commits(t, reg)[op]; c != (runner.CommitTotals{}) {
			t.Errorf("op %s before any task: %+v, want a zero series", op, c)
		}
	}
	k := kind("committed", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]any{"ok": true})
	})
	b.runNode(t, runner.NodeConfig{Kinds: []actors.Kind{k}, Workers: 4, AckWait: 2 * time.Second,
		Logger: b.log, Observer: tm})

	sub := b.submitter()
	sub.Commits = tm
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		task := newTask("committed_job", `{}`)
		ids[i] = task.ID
		wg.Go(func() {
			if err := sub.Submit(t.Context(), task); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		waitFinal(t, b.db.Tasks(), id)
	}
	// Reported once the statement returns, before the callers are
	// answered; the node's writers may still be between the two.
	waitFor(t, func() bool { return commits(t, reg)[runner.CommitFinish].Items == n })
	got := commits(t, reg)
	if e := got[runner.CommitEnqueue]; e.Items != n || e.Statements < 1 || e.Statements > n || e.Seconds <= 0 {
		t.Errorf("enqueue: %+v, want %d items in 1..%d statements that took some time", e, n, n)
	}
	for op, c := range got {
		if c.Failures != 0 {
			t.Errorf("op %s: %v failures, want none", op, c.Failures)
		}
	}
}

// newTaskMetrics returns TaskMetrics registered with a registry of its own.
func newTaskMetrics(t *testing.T) (*runner.TaskMetrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	tm, err := runner.NewTaskMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return tm, reg
}

// commits reads the ymera_group_commit_* metrics by op.
func commits(t *testing.T, g prometheus.Gatherer) map[string]runner.CommitTotals {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return runner.CommitTotalsOf(families)
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
