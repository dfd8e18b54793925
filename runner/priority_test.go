package runner_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/supervisor"
)

// TestCriticalOvertakesLowBacklog queues 1,000 low tasks behind a worker
// held busy, then 10 critical ones: the 10 start before the next 20 low.
func TestCriticalOvertakesLowBacklog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var (
		mu      sync.Mutex
		started []actors.Priority
	)
	gate := make(chan struct{})
	first := make(chan struct{})
	var once sync.Once
	prio := actors.Kind{Name: "prio", TaskTypes: []string{"prio_job"}, New: func() actors.Agent {
		return agentFunc(func(ctx context.Context, tk actors.Task) (actors.Result, error) {
			mu.Lock()
			started = append(started, tk.Priority)
			mu.Unlock()
			once.Do(func() {
				close(first)
				<-gate // hold the only worker until the critical tasks are queued
			})
			return actors.JSONResult(map[string]bool{"ok": true})
		})
	}}
	b.runNode(t, runner.NodeConfig{
		Kinds:   []actors.Kind{prio},
		Workers: 1, TaskTimeout: 10 * time.Second, AckWait: 5 * time.Second,
		Backoff: supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
		Logger:  b.log,
	})

	publish := func(count int, p actors.Priority) {
		t.Helper()
		tasks := make([]actors.Task, count)
		for i := range tasks {
			tasks[i] = newTask("prio_job", "")
			tasks[i].Priority = p
		}
		for i, err := range b.conn.PublishTasks(t.Context(), tasks) {
			if err != nil {
				t.Fatalf("publish %s task %d: %v", p, i, err)
			}
		}
	}
	publish(1000, actors.PriorityLow)
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no low task started within 10 s")
	}
	publish(10, actors.PriorityCritical)
	close(gate)

	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return countOf(started, actors.PriorityCritical) == 10
	})
	mu.Lock()
	order := slices.Clone(started)
	mu.Unlock()
	last := slices.Index(order, actors.PriorityCritical)
	for i, p := range order {
		if p == actors.PriorityCritical {
			last = i
		}
	}
	// order[0] is the low task that held the worker.
	if lows := countOf(order[1:last+1], actors.PriorityLow); lows >= 20 {
		t.Errorf("%d low tasks started between the critical ones' arrival and the last critical start, want fewer than 20", lows)
	}
	t.Logf("start order after the gate: %v", order[1:last+1])
}

func countOf(list []actors.Priority, p actors.Priority) int {
	n := 0
	for _, q := range list {
		if q == p {
			n++
		}
	}
	return n
}

// TestLowNotStarved keeps critical work queued and checks that low tasks
// still get their guaranteed slot in every 16.
func TestLowNotStarved(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var (
		mu      sync.Mutex
		started []actors.Priority
	)
	gate, first := make(chan struct{}), make(chan struct{})
	var once sync.Once
	k := actors.Kind{Name: "fair", TaskTypes: []string{"fair_job"}}
	k.New = func() actors.Agent {
		return agentFunc(func(_ context.Context, tk actors.Task) (actors.Result, error) {
			once.Do(func() { close(first); <-gate })
			mu.Lock()
			started = append(started, tk.Priority)
			mu.Unlock()
			return actors.JSONResult(map[string]bool{"ok": true})
		})
	}
	b.runNode(t, runner.NodeConfig{
		Kinds:   []actors.Kind{k},
		Workers: 1, TaskTimeout: 10 * time.Second, AckWait: 5 * time.Second,
		Backoff: supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
		Logger:  b.log,
	})
	publish := func(count int, p actors.Priority) {
		t.Helper()
		tasks := make([]actors.Task, count)
		for i := range tasks {
			tasks[i] = newTask("fair_job", "")
			tasks[i].Priority = p
		}
		for i, err := range b.conn.PublishTasks(t.Context(), tasks) {
			if err != nil {
				t.Fatalf("publish %s task %d: %v", p, i, err)
			}
		}
	}
	publish(1, actors.PriorityCritical) // holds the worker
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no task started within 10 s")
	}
	publish(100, actors.PriorityCritical)
	publish(10, actors.PriorityLow)
	close(gate)
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(started) >= 1+64
	})
	mu.Lock()
	window := slices.Clone(started[1 : 1+64])
	mu.Unlock()
	// 64 slots are four windows of 16: at least one low task in each.
	for w := range 4 {
		if lows := countOf(window[w*16:(w+1)*16], actors.PriorityLow); lows < 1 {
			t.Errorf("window %d of 16 slots had no low task: %v", w, window[w*16:(w+1)*16])
		}
	}
}
