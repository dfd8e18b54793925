package runner_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/transport"
)

// countingKind is a kind whose agent counts its runs per task.
func countingKind(name string) (actors.Kind, *sync.Map) {
	var runs sync.Map
	return kind(name, func(_ context.Context, tk actors.Task) (actors.Result, error) {
		n, _ := runs.LoadOrStore(tk.ID, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return actors.JSONResult(map[string]bool{"ok": true})
	}), &runs
}

func runsOf(runs *sync.Map, id string) int64 {
	n, ok := runs.Load(id)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// orphan makes a task that a node which has since died was running: its
// row is running under the lease of the message it was delivered, and that
// message has been removed from the stream (a rescue moved it, or a crash
// lost it). It returns the task and the lost lease.
func (b *bundle) orphan(t *testing.T, taskType string) (actors.Task, int64) {
	t.Helper()
	ctx := t.Context()
	task := newTask(taskType, "")
	if err := b.db.Tasks().Create(ctx, task); err != nil {
		t.Fatal(err)
	}
	res, err := b.conn.PublishTask(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Tasks().Start(ctx, task.ID, int64(res.Seq), time.Now()); err != nil {
		t.Fatal(err)
	}
	stream, err := b.conn.JS().Stream(ctx, transport.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.DeleteMsg(ctx, res.Seq); err != nil {
		t.Fatal(err)
	}
	return task, int64(res.Seq)
}

// TestTakeOverLostLease: a task running under a lease whose message is gone
// is taken over by the next message of the task (here one published the way
// a rescue does, under its own message id), runs once more and ends
// completed, with the lost attempt in its history.
func TestTakeOverLostLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k, runs := countingKind("orphaned")
	task, lost := b.orphan(t, "orphaned_job")
	b.startNode(t, 10*time.Second, k)

	if _, err := b.conn.PublishTask(transport.WithMessageID(t.Context(), task.ID+".again"), task); err != nil {
		t.Fatal(err)
	}
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Attempts != 2 {
		t.Fatalf("task %s after %d attempts, want completed after 2", got.Status, got.Attempts)
	}
	if n := runsOf(runs, task.ID); n != 1 {
		t.Errorf("the agent ran the task %d times here, want 1", n)
	}
	attempts, err := b.db.Tasks().Attempts(t.Context(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 || attempts[0].Lease != lost || attempts[0].Status == string(actors.StatusCompleted) ||
		!strings.Contains(attempts[0].Error, "taken over") || attempts[1].Status != "completed" {
		t.Errorf("attempt history %+v; want the lost attempt (lease %d) closed as taken over, then a completed one", attempts, lost)
	}
}

// TestNoTakeOverWhileLeaseHeld: a second message for a task whose lease's
// message is still in the stream is a duplicate: it is dropped, and the
// task runs once, under its first lease.
func TestNoTakeOverWhileLeaseHeld(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k, runs := countingKind("held")
	task := newTask("held_job", "")
	if err := b.db.Tasks().Create(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	first, err := b.conn.PublishTask(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	// The row is running under the first message, which is still stored
	// (its node died before acknowledging it): JetStream will deliver it
	// again, so the second message must not start a second attempt.
	if _, err := b.db.Tasks().Start(t.Context(), task.ID, int64(first.Seq), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.conn.PublishTask(transport.WithMessageID(t.Context(), task.ID+".again"), task); err != nil {
		t.Fatal(err)
	}
	b.startNode(t, 10*time.Second, k)
	got := waitFinal(t, b.db.Tasks(), task.ID)
	if got.Status != actors.StatusCompleted || got.Lease != int64(first.Seq) {
		t.Fatalf("task %s under lease %d; want completed under the first lease %d", got.Status, got.Lease, first.Seq)
	}
	if n := runsOf(runs, task.ID); n != 1 {
		t.Errorf("task ran %d times, want once", n)
	}
}

// TestSweeperRepublishesLostLease: a running task whose lease's message is
// gone and which no other message will ever reach is found by the sweep,
// published again, and completed; a second sweep finds nothing to do.
func TestSweeperRepublishesLostLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	k, runs := countingKind("swept_lost")
	task, _ := b.orphan(t, "swept_lost_job")
	// A running task whose message is still there is left alone.
	live := newTask("swept_lost_job", "")
	if err := b.db.Tasks().Create(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	res, err := b.conn.PublishTask(t.Context(), live)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Tasks().Start(t.Context(), live.ID, int64(res.Seq), time.Now()); err != nil {
		t.Fatal(err)
	}

	sw := &runner.Sweeper{Tasks: b.db.Tasks(), Queue: queue{b.conn}, Logger: b.log,
		Leases: b.conn, OrphanAge: time.Nanosecond}
	n, err := sw.Sweep(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("sweep published %d (err %v), want 1", n, err)
	}
	b.startNode(t, 10*time.Second, k)
	for _, id := range []string{task.ID, live.ID} {
		got := waitFinal(t, b.db.Tasks(), id)
		if got.Status != actors.StatusCompleted {
			t.Errorf("task %s ended %s, want completed", id, got.Status)
		}
		if n := runsOf(runs, id); n != 1 {
			t.Errorf("task %s ran %d times, want once", id, n)
		}
	}
	if n, err := sw.Sweep(t.Context()); err != nil || n != 0 {
		t.Errorf("second sweep published %d (err %v), want 0", n, err)
	}
}
