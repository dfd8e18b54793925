package transport

import (
	"errors"
	"testing"
	"time"
)

// collect returns a deliver function feeding a channel, and a receive that
// waits (bounded) for the next delivered event.
func collect(t *testing.T) (func(EventMessage), func() EventMessage) {
	ch := make(chan EventMessage, 64)
	return func(m EventMessage) { ch <- m }, func() EventMessage {
		t.Helper()
		select {
		case m := <-ch:
			return m
		case <-time.After(testTimeout):
			t.Fatal("no event delivered in time")
			return EventMessage{}
		}
	}
}

// eventPublisher returns a function that publishes an event on c or
// fails the test.
func eventPublisher(t *testing.T, c *Conn) func(Event) {
	ctx := testCtx(t)
	return func(ev Event) {
		t.Helper()
		if err := c.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWatchEventsFollowsAndResumes(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	// b shares a's bucket in the stream: a watch of a must still see a's
	// events alone.
	a := newID()
	b := newID()
	for b == a || storedTaskEvents(b) != storedTaskEvents(a) {
		b = newID()
	}
	subjectA, _ := TaskEventSubject(a)

	deliver, next := collect(t)
	stop, err := c.WatchEvents(ctx, subjectA, WatchFrom{}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	publish := eventPublisher(t, c)
	publish(Event{Type: EventTaskQueued, TaskID: a, UserID: "u1"})
	publish(Event{Type: EventTaskQueued, TaskID: b, UserID: "u2"})
	publish(Event{Type: EventTaskStarted, TaskID: a, UserID: "u1"})
	publish(Event{Type: EventTaskCompleted, TaskID: a, UserID: "u1"})

	var got []EventMessage
	for range 3 {
		got = append(got, next())
	}
	stop()
	stop() // a second stop is harmless
	for i, want := range []string{EventTaskQueued, EventTaskStarted, EventTaskCompleted} {
		m := got[i]
		if m.Event.Type != want || m.Event.TaskID != a || m.Event.UserID != "u1" || m.Subject != subjectA {
			t.Fatalf("event %d = %+v, want %s of task %s", i, m, want, a)
		}
		if i > 0 && m.Seq <= got[i-1].Seq {
			t.Fatalf("sequences not increasing: %d after %d", m.Seq, got[i-1].Seq)
		}
	}

	// Resume after the first event, over every task: the rest come back in
	// stream order, other tasks' events included, nothing before since.
	deliver, next = collect(t)
	stop, err = c.WatchEvents(ctx, TaskEventsWildcard(), WatchFrom{Since: got[0].Seq}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	want := []struct {
		typ, task string
	}{{EventTaskQueued, b}, {EventTaskStarted, a}, {EventTaskCompleted, a}}
	for i, w := range want {
		m := next()
		if m.Event.Type != w.typ || m.Event.TaskID != w.task || m.Seq <= got[0].Seq {
			t.Fatalf("resumed event %d = %+v, want %s of %s after seq %d", i, m, w.typ, w.task, got[0].Seq)
		}
	}
	// A project event does not match a task filter; the next task event does.
	p := newID()
	publish(Event{Type: "project.updated", ProjectID: p, UserID: "u1"})
	publish(Event{Type: EventTaskFailed, TaskID: b})
	if m := next(); m.Event.Type != EventTaskFailed || m.Event.TaskID != b {
		t.Fatalf("after the project event got %+v", m)
	}
}

// A replay of one task begins at the later of Since and NotBefore (less
// EventClockSkew): from far back, it does not read what NotBefore rules
// out; from a recent Since, it keeps everything after Since.
func TestWatchEventsReplayBeginsAtTheLaterStart(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	a := newID()
	subject, _ := TaskEventSubject(a)
	publish := eventPublisher(t, c)
	deliver, next := collect(t)
	stop, err := c.WatchEvents(ctx, TaskEventsWildcard(), WatchFrom{}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	publish(Event{Type: EventTaskQueued, TaskID: a})
	publish(Event{Type: EventTaskQueued, TaskID: newID()})
	// Stands for an event the caller's NotBefore says cannot be the task's.
	publish(Event{Type: EventTaskStarted, TaskID: a})
	oldest, other, early := next().Seq, next().Seq, next().Seq
	time.Sleep(20 * time.Millisecond)
	between := time.Now()
	time.Sleep(20 * time.Millisecond)
	publish(Event{Type: EventTaskCompleted, TaskID: a})
	late := next().Seq
	stop()

	replay := func(from WatchFrom) EventMessage {
		t.Helper()
		deliver, next := collect(t)
		stop, err := c.WatchEvents(ctx, subject, from, deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		return next()
	}
	longAgo := between.Add(-time.Hour)
	if m := replay(WatchFrom{Since: other, NotBefore: between.Add(EventClockSkew)}); m.Seq != late {
		t.Fatalf("replay after seq %d, not before %s: first event seq %d (%s), want %d",
			other, between.Format(time.RFC3339Nano), m.Seq, m.Event.Type, late)
	}
	if m := replay(WatchFrom{Since: other, NotBefore: longAgo}); m.Seq != early {
		t.Fatalf("replay after seq %d, not before an hour ago: first event seq %d, want %d", other, m.Seq, early)
	}
	// Since is the later start: nothing at or before it comes back, though
	// NotBefore allows it.
	if m := replay(WatchFrom{Since: early, NotBefore: longAgo}); m.Seq != late {
		t.Fatalf("replay after seq %d: first event seq %d, want %d", early, m.Seq, late)
	}
	// With the event at Since gone, the replay begins by time, and still
	// delivers nothing at or before Since.
	stream, err := c.js.Stream(ctx, StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.DeleteMsg(ctx, other); err != nil {
		t.Fatal(err)
	}
	if m := replay(WatchFrom{Since: other, NotBefore: longAgo}); m.Seq != early {
		t.Fatalf("replay after deleted seq %d: first event seq %d, want %d (not %d, before it)", other, m.Seq, early, oldest)
	}
}

func TestWatchProjectEvents(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	p := newID()
	subject, err := ProjectEventSubject(p)
	if err != nil {
		t.Fatal(err)
	}
	deliver, next := collect(t)
	stop, err := c.WatchEvents(ctx, subject, WatchFrom{}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := c.PublishEvent(ctx, Event{Type: "project.updated", ProjectID: p, UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if m := next(); m.Subject != subject || m.Event.ProjectID != p || m.Event.UserID != "u1" {
		t.Fatalf("got %+v", m)
	}
}

func TestWatchEventsRejects(t *testing.T) {
	t.Parallel()
	c := setup(t)
	if _, err := c.WatchEvents(testCtx(t), "", WatchFrom{}, func(EventMessage) {}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty filter: %v", err)
	}
	if _, err := c.WatchEvents(testCtx(t), TaskEventsWildcard(), WatchFrom{}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil deliver: %v", err)
	}
	if _, err := c.WatchEvents(testCtx(t), "ymera.events.task.not-an-id", WatchFrom{}, func(EventMessage) {}); !errors.Is(err, ErrInvalid) {
		t.Errorf("task filter without a task id: %v", err)
	}
	if _, err := ProjectEventSubject("p.*"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad project id: %v", err)
	}
}
