package transport

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestPublishEventLandsInEventsStream(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	taskID := newID()
	for _, ev := range []Event{
		{Type: EventTaskCompleted, TaskID: taskID, AgentID: "docs-1", Status: "completed", Data: json.RawMessage(`{"ms":12}`)},
		{Type: EventAgentOnline, AgentID: "docs-1", Status: "healthy"},
	} {
		if err := c.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}

	stream, err := c.JS().Stream(ctx, StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	// Filed under the bucket the server's transform computes, which
	// storedTaskEvents computes the same way.
	raw := lastMsg(t, stream, storedTaskEvents(taskID))
	ev, err := DecodeEvent(raw.Data)
	if err != nil {
		t.Fatal(err)
	}
	if ev.V != ProtocolVersion || ev.Type != EventTaskCompleted || ev.TaskID != taskID || ev.Status != "completed" ||
		string(ev.Data) != `{"ms":12}` || time.Since(ev.Time) > time.Minute {
		t.Fatalf("stored event %+v", ev)
	}
	raw = lastMsg(t, stream, "ymera.events.agent.docs-1")
	if ev, err = DecodeEvent(raw.Data); err != nil || ev.Type != EventAgentOnline {
		t.Fatalf("agent event %+v, %v", ev, err)
	}
}

// TestTaskEventsStoredInBuckets checks that YMERA_EVENTS holds a bounded
// number of subjects however many tasks publish events: the server keeps
// memory for each distinct subject a stream holds.
func TestTaskEventsStoredInBuckets(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	const tasks = 300
	ids := make(map[string]bool, tasks)
	for range tasks {
		id := newID()
		ids[id] = true
		if err := c.PublishEvent(ctx, Event{Type: EventTaskQueued, TaskID: id}); err != nil {
			t.Fatal(err)
		}
	}
	stream, err := c.JS().Stream(ctx, StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	var subjects map[string]uint64
	for {
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(EventsWildcard()))
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == tasks {
			subjects = info.State.Subjects
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the stream holds %d events, want %d", info.State.Msgs, tasks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	buckets := make(map[string]uint64)
	for id := range ids {
		buckets[storedTaskEvents(id)]++
	}
	if !maps.Equal(subjects, buckets) {
		t.Fatalf("the stream's subjects are %v, want the %d buckets %v", subjects, len(buckets), buckets)
	}
}

func TestPublishEventRejects(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	for _, ev := range []Event{
		{Type: EventTaskStarted},                                  // no subject
		{Type: EventTaskStarted, TaskID: "not-a-uuid"},            // bad task id
		{Type: EventAgentOnline, AgentID: "a.*"},                  // bad agent id
		{TaskID: newID()},                                         // no type
		{Type: EventTaskStarted, TaskID: newID(), AgentID: "a b"}, // bad agent id beside a task
	} {
		if err := c.PublishEvent(ctx, ev); !errors.Is(err, ErrInvalid) {
			t.Errorf("PublishEvent(%+v): err = %v, want ErrInvalid", ev, err)
		}
	}
	if _, err := DecodeEvent([]byte(`{"v":7,"type":"task.created"}`)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("DecodeEvent of v7: err = %v", err)
	}
}

// lastMsg polls until the stream has a message on subject: events are
// published without waiting for the stream to store them.
func lastMsg(t *testing.T, s jetstream.Stream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	ctx := testCtx(t)
	for {
		m, err := s.GetLastMsgForSubject(ctx, subject)
		if err == nil {
			return m
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) || ctx.Err() != nil {
			t.Fatalf("last message on %s: %v", subject, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkPublishEventEncode measures the encoding PublishEvent does, three
// times per task: bodies like the runner's lifecycle events.
func BenchmarkPublishEventEncode(b *testing.B) {
	ev := benchEvent()
	for _, bc := range []struct {
		name string
		data json.RawMessage
	}{
		{"plain", nil},
		{"data", json.RawMessage(`{"error":"agent returned status 500","attempt":2}`)},
	} {
		ev.Data = bc.data
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeEvent(ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchEvent() Event {
	return Event{
		V:      ProtocolVersion,
		Type:   EventTaskCompleted,
		TaskID: "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10",
		UserID: "7d1c1c8e-2b6f-4d7e-8f0a-1a2b3c4d5e6f",
		Status: "completed",
		Time:   time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC),
	}
}

// BenchmarkEventStatus measures what a gateway watching task ends spends
// on each task event it hears (eventStatus), against decoding the whole
// event.
func BenchmarkEventStatus(b *testing.B) {
	body, err := encodeEvent(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("status", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := eventStatus(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeEvent(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
