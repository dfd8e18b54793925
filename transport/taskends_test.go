package transport

import (
	"errors"
	"testing"
	"time"
)

// TestTaskEndsSignalsOnlyEnds: a waiter hears of its task's final event,
// published by another node, and not of the task's other events. Events
// of one publisher arrive in order, so once the signal for a second task's
// end has arrived, the first task's earlier non-final event has been
// handled too.
func TestTaskEndsSignalsOnlyEnds(t *testing.T) {
	owner, other := twoConns(t)
	ctx := testCtx(t)
	a, b := "0198a6f2-0000-7000-8000-00000000000a", "0198a6f2-0000-7000-8000-00000000000b"
	ends := owner.NewTaskEnds()
	endA, releaseA, err := ends.Await(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseA()
	endB, releaseB, err := ends.Await(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseB()

	for _, ev := range []Event{
		{Type: EventTaskStarted, TaskID: a, Status: "running"},
		{Type: EventTaskCompleted, TaskID: b, Status: "completed"},
	} {
		if err := other.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-endB:
	case <-ctx.Done():
		t.Fatal("no signal for a completed task")
	}
	select {
	case <-endA:
		t.Fatal("a started task was signalled as ended")
	default:
	}

	publishHeard(t, other, Event{Type: EventTaskFailed, TaskID: a, Status: "failed"}, endA)
}

// publishHeard publishes ev on pub and fails unless ended then receives.
func publishHeard(t *testing.T, pub *Conn, ev Event, ended <-chan struct{}) {
	t.Helper()
	ctx := testCtx(t)
	if err := pub.PublishEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-ctx.Done():
		t.Fatalf("no end signal for %s", ev.Type)
	}
}

// TestTaskEndsUnsubscribesWhenIdle: the subscription goes once nobody has
// waited for a linger, and the next waiter makes a new one that works.
func TestTaskEndsUnsubscribesWhenIdle(t *testing.T) {
	c := setup(t)
	ctx := testCtx(t)
	id := "0198a6f2-0000-7000-8000-0000000000c1"
	ends := c.NewTaskEnds()
	ends.linger = time.Millisecond
	_, release, err := ends.Await(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	release()
	release() // a second release is harmless
	subscribed := func() bool {
		ends.mu.Lock()
		defer ends.mu.Unlock()
		return ends.sub != nil
	}
	for subscribed() {
		if ctx.Err() != nil {
			t.Fatal("still subscribed with nobody waiting")
		}
		time.Sleep(time.Millisecond)
	}

	ended, release, err := ends.Await(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	publishHeard(t, c, Event{Type: EventTaskCancelled, TaskID: id, Status: "cancelled"}, ended)
}

// TestTaskEndsRefusesBadID: a task id that is not a UUID is refused before
// anything is subscribed.
func TestTaskEndsRefusesBadID(t *testing.T) {
	c := setup(t)
	if _, _, err := c.NewTaskEnds().Await(testCtx(t), "ymera.events.>"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Await with a subject for an id: %v, want ErrInvalid", err)
	}
}
