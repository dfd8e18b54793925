package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// startNodeDelayed is startNode with the given start delay (NodeConfig.StartDelay).
func (b *bundle) startNodeDelayed(t *testing.T, delay time.Duration, k actors.Kind) {
	t.Helper()
	cfg := testNodeConfig(time.Minute, k)
	cfg.StartDelay = delay
	b.runNode(t, cfg)
}

// eventTypes subscribes to the task's events and returns a function that
// lists the types received so far.
func (b *bundle) eventTypes(t *testing.T, taskID string) func() []string {
	t.Helper()
	subject, err := transport.TaskEventSubject(taskID)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := b.conn.NC().SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	var seen []string
	return func() []string {
		for {
			m, err := sub.NextMsg(50 * time.Millisecond)
			if errors.Is(err, nats.ErrTimeout) {
				return seen
			}
			if err != nil {
				t.Fatal(err)
			}
			var ev struct{ Type string }
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatal(err)
			}
			seen = append(seen, ev.Type)
		}
	}
}

// TestDeferredStartOneWrite: a task that succeeds within the start delay
// is recorded once, from queued to completed, with its attempt and start
// time, and announces no task.started.
func TestDeferredStartOneWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startNodeDelayed(t, time.Minute, kind("fast", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]bool{"ok": true})
	}))
	task := newTask("fast_job", "")
	events := b.eventTypes(t, task.ID)
	before := time.Now()
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Attempts != 1 || got.Lease <= 0 || string(got.Result) != `{"ok":true}` {
		t.Fatalf("task %s attempts %d lease %d result %s; want completed by one attempt", got.Status, got.Attempts, got.Lease, got.Result)
	}
	if got.StartedAt == nil || got.CompletedAt == nil || got.StartedAt.Before(before.Add(-time.Second)) ||
		got.CompletedAt.Before(*got.StartedAt) {
		t.Errorf("started_at %v completed_at %v; want a start time before the completion", got.StartedAt, got.CompletedAt)
	}
	attempts, err := b.db.Tasks().Attempts(t.Context(), task.ID)
	if err != nil || len(attempts) != 1 || attempts[0].Status != string(actors.StatusCompleted) ||
		!attempts[0].StartedAt.Equal(*got.StartedAt) {
		t.Errorf("attempts %+v, %v; want one completed, started at the task's start", attempts, err)
	}
	waitFor(t, func() bool { return slices.Contains(events(), transport.EventTaskCompleted) })
	if got := events(); !slices.Equal(got, []string{"task.queued", "task.completed"}) {
		t.Errorf("events %v; want task.queued, task.completed", got)
	}
	waitFor(t, func() bool { return b.streamEmpty(t) })
}

// TestDeferredStartRecordedWhenSlow: an attempt still running after the
// delay is recorded running and announced, then completes as one attempt.
func TestDeferredStartRecordedWhenSlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	b.startNodeDelayed(t, 20*time.Millisecond, completesOnRelease("slow", release))
	task := newTask("slow_job", "")
	events := b.eventTypes(t, task.ID)
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		got, err := b.db.Tasks().Get(t.Context(), task.ID)
		return err == nil && got.Status == actors.StatusRunning && got.Attempts == 1
	})
	waitFor(t, func() bool { return slices.Contains(events(), transport.EventTaskStarted) })
	close(release)
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Attempts != 1 {
		t.Errorf("task %s attempts %d; want completed by one attempt", got.Status, got.Attempts)
	}
	waitFor(t, func() bool { return slices.Contains(events(), transport.EventTaskCompleted) })
	if got := events(); !slices.Equal(got, []string{"task.queued", "task.started", "task.completed"}) {
		t.Errorf("events %v; want queued, started, completed", got)
	}
}

// TestDeferredStartKeepsCancel: a task cancelled while its attempt runs
// unrecorded (it is queued in the store, so the cancel is the store's
// alone) stays cancelled; the outcome is dropped and the message settled.
func TestDeferredStartKeepsCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	running := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int64
	b.startNodeDelayed(t, time.Minute, kind("held", func(context.Context, actors.Task) (actors.Result, error) {
		calls.Add(1)
		running <- struct{}{}
		<-release
		return actors.JSONResult(map[string]bool{"ok": true})
	}))
	task := newTask("held_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	<-running
	got, err := b.canceller().Cancel(t.Context(), task.ID)
	if err != nil || got.Status != actors.StatusCancelled {
		t.Fatalf("cancel: %s, %v; want cancelled at once", got.Status, err)
	}
	close(release)
	waitFor(t, func() bool { return b.streamEmpty(t) })
	final, err := b.db.Tasks().Get(t.Context(), task.ID)
	if err != nil || final.Status != actors.StatusCancelled || final.Result != nil {
		t.Errorf("task %s result %s, %v; want cancelled without a result", final.Status, final.Result, err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("agent ran %d times, want 1", n)
	}
}

// TestDeferredStartRefusedStopsAgent: when the delayed start finds the
// task cancelled, the attempt's work is for nothing, so its context is
// cancelled and the message settled.
func TestDeferredStartRefusedStopsAgent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	running := make(chan struct{}, 1)
	stopped := make(chan struct{})
	b.startNodeDelayed(t, 200*time.Millisecond, kind("doomed", func(ctx context.Context, _ actors.Task) (actors.Result, error) {
		running <- struct{}{}
		select {
		case <-ctx.Done():
			close(stopped)
			return actors.Result{}, ctx.Err()
		case <-time.After(time.Minute):
			return actors.JSONResult(map[string]bool{"ok": true})
		}
	}))
	task := newTask("doomed_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	<-running
	if got, err := b.canceller().Cancel(t.Context(), task.ID); err != nil || got.Status != actors.StatusCancelled {
		t.Fatalf("cancel: %s, %v; want cancelled at once", got.Status, err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent was not stopped within 10 s of its start being refused")
	}
	waitFor(t, func() bool { return b.streamEmpty(t) })
	if final, err := b.db.Tasks().Get(t.Context(), task.ID); err != nil || final.Status != actors.StatusCancelled {
		t.Errorf("task %s, %v; want cancelled", final.Status, err)
	}
}

// TestDeferredStartFailureRetries: a quick transient failure records its
// start before its outcome, so the retry counts it: two attempts, the
// first failed, the second completed.
func TestDeferredStartFailureRetries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	b.startNodeDelayed(t, time.Minute, failsOnce("flaky", &calls))
	task := newTask("flaky_job", "")
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Attempts != 2 {
		t.Fatalf("task %s attempts %d; want completed on the second attempt", got.Status, got.Attempts)
	}
	attempts, err := b.db.Tasks().Attempts(t.Context(), task.ID)
	if err != nil || len(attempts) != 2 || attempts[0].Status != string(actors.StatusFailed) ||
		attempts[0].Error != "transient" || attempts[1].Status != string(actors.StatusCompleted) {
		t.Errorf("attempts %+v, %v; want failed (transient), then completed", attempts, err)
	}
}

// completesOnRelease is a kind whose agent completes once release is
// closed.
func completesOnRelease(name string, release <-chan struct{}) actors.Kind {
	return kind(name, func(context.Context, actors.Task) (actors.Result, error) {
		<-release
		return actors.JSONResult(map[string]bool{"ok": true})
	})
}

// failsOnce is a kind whose agent fails its first call with "transient"
// and completes the others, counting them in calls.
func failsOnce(name string, calls *atomic.Int64) actors.Kind {
	return kind(name, func(context.Context, actors.Task) (actors.Result, error) {
		if calls.Add(1) == 1 {
			return actors.Result{}, errors.New("transient")
		}
		return actors.JSONResult(map[string]bool{"ok": true})
	})
}

// publishRaw publishes task's message straight to JetStream, as a service
// does (docs/protocol.md): no row, no Ymera-Row-Committed.
func (b *bundle) publishRaw(t *testing.T, task actors.Task) {
	t.Helper()
	body, err := transport.EncodeTask(task)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := transport.TaskSubject(task.Type, task.Priority)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.conn.JS().PublishMsg(t.Context(), &nats.Msg{Subject: subject, Data: body}); err != nil {
		t.Fatal(err)
	}
}

// TestRowlessTaskDeferred: a task published straight to NATS that ends
// within the start delay gets its row once, made completed with its one
// attempt; a repeated message finds that row and does not run the task
// again.
func TestRowlessTaskDeferred(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	b.startNodeDelayed(t, time.Minute, kind("direct", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]int64{"call": calls.Add(1)})
	}))
	task := newTask("direct_job", "")
	events := b.eventTypes(t, task.ID)
	before := time.Now()
	b.publishRaw(t, task)
	waitFor(t, func() bool { _, err := b.db.Tasks().Get(t.Context(), task.ID); return err == nil })
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Attempts != 1 || got.Lease <= 0 || string(got.Result) != `{"call":1}` {
		t.Fatalf("task %s attempts %d lease %d result %s; want completed by one attempt",
			got.Status, got.Attempts, got.Lease, got.Result)
	}
	if got.StartedAt == nil || got.CompletedAt == nil || got.StartedAt.Before(before.Add(-time.Second)) ||
		got.CompletedAt.Before(*got.StartedAt) || got.MaxAttempts != task.MaxAttempts {
		t.Errorf("started_at %v completed_at %v max attempts %d; want a start before the completion, %d attempts allowed",
			got.StartedAt, got.CompletedAt, got.MaxAttempts, task.MaxAttempts)
	}
	attempts, err := b.db.Tasks().Attempts(t.Context(), task.ID)
	if err != nil || len(attempts) != 1 || attempts[0].Status != string(actors.StatusCompleted) {
		t.Errorf("attempts %+v, %v; want one completed", attempts, err)
	}
	waitFor(t, func() bool { return slices.Contains(events(), transport.EventTaskCompleted) })
	if got := events(); !slices.Equal(got, []string{"task.completed"}) {
		t.Errorf("events %v; want task.completed alone", got)
	}
	waitFor(t, func() bool { return b.streamEmpty(t) })
	b.publishRaw(t, task) // no message id: past any dedup window
	waitFor(t, func() bool { return b.streamEmpty(t) })
	if n := calls.Load(); n != 1 {
		t.Errorf("agent ran %d times; a repeated message must not run the task again", n)
	}
}

// TestRowlessTaskRecordedWhenSlow: a task published straight to NATS that
// still runs after the start delay gets its row made running, then
// completes it as one attempt.
func TestRowlessTaskRecordedWhenSlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	b.startNodeDelayed(t, 20*time.Millisecond, completesOnRelease("direct_slow", release))
	task := newTask("direct_slow_job", "")
	events := b.eventTypes(t, task.ID)
	b.publishRaw(t, task)
	waitFor(t, func() bool {
		got, err := b.db.Tasks().Get(t.Context(), task.ID)
		return err == nil && got.Status == actors.StatusRunning && got.Attempts == 1
	})
	close(release)
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Attempts != 1 {
		t.Errorf("task %s attempts %d; want completed by one attempt", got.Status, got.Attempts)
	}
	waitFor(t, func() bool { return slices.Contains(events(), transport.EventTaskCompleted) })
	if got := events(); !slices.Equal(got, []string{"task.started", "task.completed"}) {
		t.Errorf("events %v; want started, completed", got)
	}
}

// TestRowlessTaskFailureRetries: a task published straight to NATS
// whose deferred attempt fails gets its row made running first, so that
// the retry counts the attempt, then runs again and completes.
func TestRowlessTaskFailureRetries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	b.startNodeDelayed(t, time.Minute, failsOnce("direct_flaky", &calls))
	task := newTask("direct_flaky_job", "")
	b.publishRaw(t, task)
	waitFor(t, func() bool { _, err := b.db.Tasks().Get(t.Context(), task.ID); return err == nil })
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Attempts != 2 || calls.Load() != 2 {
		t.Errorf("task %s attempts %d, agent ran %d times; want completed by the second of two attempts",
			got.Status, got.Attempts, calls.Load())
	}
}

// TestRowlessTaskCopiesTogether: two copies of a task published straight to
// NATS, delivered together, may both run the agent inside the start delay
// (the gap deferred.go names), but the task keeps one outcome and one
// attempt, and both messages are settled.
func TestRowlessTaskCopiesTogether(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	b.startNodeDelayed(t, time.Minute, kind("direct_twice", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]int64{"call": calls.Add(1)})
	}))
	task := newTask("direct_twice_job", "")
	b.publishRaw(t, task)
	b.publishRaw(t, task)
	waitFor(t, func() bool { _, err := b.db.Tasks().Get(t.Context(), task.ID); return err == nil })
	waitFor(t, func() bool { return b.streamEmpty(t) })
	got, list, err := b.db.Tasks().GetWithAttempts(t.Context(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := calls.Load()
	if got.Status != actors.StatusCompleted || got.Attempts != 1 || len(list) != 1 || n < 1 || n > 2 ||
		(string(got.Result) != `{"call":1}` && string(got.Result) != `{"call":2}`) {
		t.Errorf("task %s attempts %d (%d listed) result %s, agent ran %d times; want one completed attempt",
			got.Status, got.Attempts, len(list), got.Result, n)
	}
}

// runCounted runs a node, configured by configure, whose one kind takes
// task's type, completes every task and counts its runs in calls; submits
// task and returns it once final.
func (b *bundle) runCounted(t *testing.T, calls *atomic.Int64, task actors.Task, configure func(*runner.NodeConfig)) store.Task {
	t.Helper()
	cfg := testNodeConfig(time.Minute, kind(strings.TrimSuffix(task.Type, "_job"), func(context.Context, actors.Task) (actors.Result, error) {
		calls.Add(1)
		return actors.JSONResult(map[string]bool{"ok": true})
	}))
	configure(&cfg)
	b.runNode(t, cfg)
	if err := b.submitter().Submit(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	return waitFinal(t, b.db.Tasks(), task.ID)
}

// finishDownOnce is a task store whose first FinishBatch fails as a store
// that did not answer.
type finishDownOnce struct {
	store.Tasks
	failed atomic.Bool
}

func (s *finishDownOnce) FinishBatch(ctx context.Context, items []store.Finished) ([]error, error) {
	if s.failed.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("test: database away: %w", store.ErrUnavailable)
	}
	return s.Tasks.FinishBatch(ctx, items)
}

// TestOutcomeKeptThroughFailedBatch: the batch that was to commit a
// successful attempt fails (the store did not answer). The outcome is kept
// and committed again, the message acknowledged only then, and the task
// announced completed once.
func TestOutcomeKeptThroughFailedBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tasks := &finishDownOnce{Tasks: b.db.Tasks()}
	var calls atomic.Int64
	task := newTask("steady_job", "")
	events := b.eventTypes(t, task.ID)
	got := b.runCounted(t, &calls, task, func(cfg *runner.NodeConfig) { cfg.Tasks = tasks })
	if !tasks.failed.Load() {
		t.Fatal("no FinishBatch failed; the test did not test anything")
	}
	if got.Status != actors.StatusCompleted || got.Attempts != 1 || string(got.Result) != `{"ok":true}` || calls.Load() != 1 {
		t.Fatalf("task %s attempts %d result %s after %d runs; want completed by one run", got.Status, got.Attempts, got.Result, calls.Load())
	}
	waitFor(t, func() bool { return b.streamEmpty(t) })
	waitFor(t, func() bool { return slices.Contains(events(), transport.EventTaskCompleted) })
	if got := events(); !slices.Equal(got, []string{"task.queued", "task.completed"}) {
		t.Errorf("events %v; want task.queued, task.completed", got)
	}
}

// panicsOnce is an Observer whose first TaskFinished panics.
type panicsOnce struct{ done atomic.Bool }

func (p *panicsOnce) TaskFinished(string, actors.Status) {
	if p.done.CompareAndSwap(false, true) {
		panic("test: observer broke")
	}
}

// TestSettlePanicHandsTaskBack: settling a committed outcome panics on the
// result writer's goroutine for its batch. The process survives, the
// message is handed back, and its redelivery finds the task final and is
// acknowledged without running the agent again.
func TestSettlePanicHandsTaskBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var calls atomic.Int64
	obs := &panicsOnce{}
	got := b.runCounted(t, &calls, newTask("brittle_job", ""), func(cfg *runner.NodeConfig) { cfg.Observer = obs })
	waitFor(t, func() bool { return b.streamEmpty(t) })
	if !obs.done.Load() {
		t.Fatal("the observer never panicked; the test did not test anything")
	}
	if got.Status != actors.StatusCompleted || got.Attempts != 1 || calls.Load() != 1 {
		t.Fatalf("task %s attempts %d after %d runs; want completed by one run", got.Status, got.Attempts, calls.Load())
	}
}
