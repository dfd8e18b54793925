package transport

import (
	"errors"
	"fmt"
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

// TestTaskEndsTracksExpectedTasks: a task expected while subscribed is
// tracked for its owner; its end, heard before anyone waits for it, is
// remembered, so that a later Await signals at once. Nothing is tracked
// while unsubscribed, after Forget, past the ring's size, or once the
// subscription has gone.
func TestTaskEndsTracksExpectedTasks(t *testing.T) {
	owner, other := twoConns(t)
	ctx := testCtx(t)
	id := func(n int) string { return fmt.Sprintf("0198a6f2-0000-7000-8000-%012d", n) }
	ends := owner.NewTaskEnds()
	ends.linger = time.Hour
	ends.expectMax = 3

	ends.Expect(id(1), "alice")
	if _, ok := ends.Tracked(id(1)); ok {
		t.Fatal("tracked while nobody waited, so while not subscribed")
	}
	_, release, err := ends.Await(ctx, id(99)) // subscribes
	if err != nil {
		t.Fatal(err)
	}
	ends.Expect(id(1), "alice")
	if who, ok := ends.Tracked(id(1)); !ok || who != "alice" {
		t.Fatalf("Tracked after Expect: %q %v, want alice true", who, ok)
	}

	// Its end is heard with nobody waiting for it; a waiter that comes
	// later is signalled at once.
	if err := other.PublishEvent(ctx, Event{Type: EventTaskCompleted, TaskID: id(1), Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	for {
		ends.mu.Lock()
		heard := ends.expected[id(1)].ended
		ends.mu.Unlock()
		if heard {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the end of a tracked task was not heard")
		}
		time.Sleep(time.Millisecond)
	}
	ended, releaseEnded, err := ends.Await(ctx, id(1))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	default:
		t.Fatal("Await of a tracked task whose end was heard did not signal at once")
	}
	releaseEnded()

	// An unfinished tracked task is not signalled until its end.
	ends.Expect(id(2), "bob")
	running, releaseRunning, err := ends.Await(ctx, id(2))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-running:
		t.Fatal("a tracked task that has not ended was signalled")
	default:
	}
	publishHeard(t, other, Event{Type: EventTaskFailed, TaskID: id(2), Status: "failed"}, running)
	releaseRunning()

	ends.Expect(id(3), "carol")
	ends.Forget(id(3))
	if _, ok := ends.Tracked(id(3)); ok {
		t.Error("tracked after Forget")
	}
	// The ring holds three: the fourth and fifth push out the first two.
	ends.Expect(id(4), "dave")
	ends.Expect(id(5), "erin")
	for n, want := range map[int]bool{1: false, 2: false, 4: true, 5: true} {
		if _, ok := ends.Tracked(id(n)); ok != want {
			t.Errorf("task %d tracked %v, want %v", n, ok, want)
		}
	}

	// Once unsubscribed, ends can be missed: nothing stays tracked.
	ends.linger = time.Millisecond
	release()
	for {
		ends.mu.Lock()
		subscribed := ends.sub != nil
		ends.mu.Unlock()
		if !subscribed {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("still subscribed with nobody waiting")
		}
		time.Sleep(time.Millisecond)
	}
	if _, ok := ends.Tracked(id(5)); ok {
		t.Error("still tracked after the subscription was dropped")
	}
}
