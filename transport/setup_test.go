package transport

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Setup runs at every start, so a second run must succeed and leave every
// stream and bucket exactly as it was.
func TestSetupIsIdempotent(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{})
	ctx := testCtx(t)
	opts := SetupOptions{EventsMaxAge: time.Hour, EventsMaxMsgs: 5000}
	if err := c.Setup(ctx, opts); err != nil {
		t.Fatalf("first Setup: %v", err)
	}
	before := streamInfos(t, c)
	if err := c.Setup(ctx, opts); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	after := streamInfos(t, c)
	for name, b := range before {
		a := after[name]
		if !reflect.DeepEqual(a.Config, b.Config) {
			t.Errorf("%s config changed:\n before %+v\n after  %+v", name, b.Config, a.Config)
		}
		if !a.Created.Equal(b.Created) {
			t.Errorf("%s was recreated", name)
		}
	}

	tasks := before[StreamTasks].Config
	if tasks.Retention != jetstream.WorkQueuePolicy || tasks.Duplicates != DefaultDuplicateWindow {
		t.Errorf("%s: retention %v, duplicates %v", StreamTasks, tasks.Retention, tasks.Duplicates)
	}
	if ev := before[StreamEvents].Config; ev.Retention != jetstream.LimitsPolicy || ev.MaxAge != time.Hour ||
		ev.MaxMsgs != 5000 || ev.Discard != jetstream.DiscardOld {
		t.Errorf("%s: retention %v, max age %v, max messages %d, discard %v", StreamEvents, ev.Retention, ev.MaxAge, ev.MaxMsgs, ev.Discard)
	}
	if ev, tasks := before[StreamEvents].Config.PersistMode, before[StreamTasks].Config.PersistMode; ev != jetstream.AsyncPersistMode || tasks != jetstream.DefaultPersistMode {
		t.Errorf("persist modes: %s %v (want async), %s %v (want default)", StreamEvents, ev, StreamTasks, tasks)
	}
	hb, err := c.JS().KeyValue(ctx, BucketHeartbeats)
	if err != nil {
		t.Fatal(err)
	}
	st, err := hb.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != DefaultHeartbeatTTL {
		t.Errorf("heartbeat TTL %v, want %v", st.TTL(), DefaultHeartbeatTTL)
	}
}

// A YMERA_EVENTS made before it was asynchronous (or by a server that did
// not know persist modes) keeps its mode: the server refuses to change it,
// and Setup must not fail every start after an upgrade.
func TestSetupKeepsAnExistingPersistMode(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{})
	ctx := testCtx(t)
	events := defaultEventsConfig(t)
	events.PersistMode = jetstream.DefaultPersistMode
	if _, err := c.JS().CreateStream(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := c.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatalf("Setup over a default-mode %s: %v", StreamEvents, err)
	}
	if got := streamInfos(t, c)[StreamEvents].Config.PersistMode; got != jetstream.DefaultPersistMode {
		t.Errorf("%s persist mode %v after Setup, want it kept (default)", StreamEvents, got)
	}
	if got := eventsPersistMode(3); got != jetstream.DefaultPersistMode {
		t.Errorf("replicated %s persist mode %v; the server refuses async there", StreamEvents, got)
	}
}

// A YMERA_EVENTS made before task events were filed in buckets gets the
// transform at the next start; events already stored keep their subjects
// and age out.
func TestSetupFilesTaskEventsOfAnOlderStreamInBuckets(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{})
	ctx := testCtx(t)
	events := defaultEventsConfig(t)
	events.SubjectTransform = nil
	stream, err := c.JS().CreateStream(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	before, after := newID(), newID()
	publish := eventPublisher(t, c)
	publish(Event{Type: "agent.online", AgentID: "a1"})
	publish(Event{Type: EventTaskQueued, TaskID: before})
	first := lastMsg(t, stream, "ymera.events.task."+before).Sequence
	if err := c.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatalf("Setup over %s without a transform: %v", StreamEvents, err)
	}
	publish(Event{Type: EventTaskQueued, TaskID: after})
	publish(Event{Type: EventTaskCompleted, TaskID: before})
	if ev, err := DecodeEvent(lastMsg(t, stream, storedTaskEvents(after)).Data); err != nil || ev.TaskID != after {
		t.Fatalf("event after Setup: %+v, %v", ev, err)
	}

	// A client resuming from before the change still gets the events
	// stored under the old subjects, in order with the new ones.
	replay := func(filter string, n int) []EventMessage {
		t.Helper()
		deliver, next := collect(t)
		stop, err := c.WatchEvents(ctx, filter, WatchFrom{Since: first - 1}, deliver)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		got := make([]EventMessage, n)
		for i := range got {
			got[i] = next()
		}
		return got
	}
	subject, _ := TaskEventSubject(before)
	got := replay(subject, 2)
	if got[0].Seq != first || got[0].Event.Type != EventTaskQueued || got[0].Subject != subject ||
		got[1].Event.Type != EventTaskCompleted || got[1].Event.TaskID != before || got[1].Subject != subject {
		t.Errorf("replay of task %s across the change: %+v", before, got)
	}
	got = replay(TaskEventsWildcard(), 3)
	for i, want := range []string{before, after, before} {
		if got[i].Event.TaskID != want || (i > 0 && got[i].Seq <= got[i-1].Seq) {
			t.Errorf("replay of every task across the change, event %d: %+v, want one of %s in order", i, got[i], want)
		}
	}
}

// An asynchronous YMERA_EVENTS cannot be given replicas: Setup says what to
// do instead of passing on the server's refusal.
func TestSetupRefusesToReplicateAsyncEvents(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{})
	ctx := testCtx(t)
	if err := c.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	err := c.Setup(ctx, SetupOptions{EventsReplicas: 3})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "delete the stream") {
		t.Errorf("Setup replicating an asynchronous %s: %v, want ErrInvalid saying what to do", StreamEvents, err)
	}
}

// defaultEventsConfig returns the configuration Setup gives YMERA_EVENTS
// by default.
func defaultEventsConfig(t *testing.T) jetstream.StreamConfig {
	t.Helper()
	for _, cfg := range streamConfigs(SetupOptions{}.withDefaults()) {
		if cfg.Name == StreamEvents {
			return cfg
		}
	}
	t.Fatalf("no %s among the streams Setup makes", StreamEvents)
	return jetstream.StreamConfig{}
}

// streamInfos returns the info of every stream, the buckets' included.
func streamInfos(t *testing.T, c *Conn) map[string]*jetstream.StreamInfo {
	t.Helper()
	ctx := testCtx(t)
	infos := map[string]*jetstream.StreamInfo{}
	lister := c.JS().ListStreams(ctx)
	for info := range lister.Info() {
		infos[info.Config.Name] = info
	}
	if err := lister.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{StreamTasks, StreamEvents, StreamDeadLetters, "KV_" + BucketHeartbeats, "KV_" + BucketTaskTypes} {
		if infos[name] == nil {
			t.Fatalf("stream %s missing after Setup", name)
		}
	}
	return infos
}

// TestSetupDuplicateWindow: the window given applies to every stream a
// task id deduplicates in, the intake's included, and not to the events.
func TestSetupDuplicateWindow(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{})
	ctx := testCtx(t)
	const window = 30 * time.Second
	if err := c.Setup(ctx, SetupOptions{DuplicateWindow: window}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureIntake(ctx, 1, window); err != nil {
		t.Fatal(err)
	}
	infos := streamInfos(t, c)
	for _, name := range []string{StreamTasks, StreamDeadLetters, StreamIntake} {
		if got := infos[name].Config.Duplicates; got != window {
			t.Errorf("%s: duplicate window %v, want %v", name, got, window)
		}
	}
	if got := infos[StreamEvents].Config.Duplicates; got != 10*time.Second {
		t.Errorf("%s: duplicate window %v, want its own 10s", StreamEvents, got)
	}
}

// TestSetupDefaults: options left zero take the documented defaults.
func TestSetupDefaults(t *testing.T) {
	t.Parallel()
	o := SetupOptions{}.withDefaults()
	if o.Replicas != 1 || o.EventsReplicas != 1 || o.EventsMaxAge != DefaultEventsMaxAge || o.EventsMaxMsgs != DefaultEventsMaxMsgs ||
		o.HeartbeatTTL != DefaultHeartbeatTTL || o.DuplicateWindow != DefaultDuplicateWindow {
		t.Errorf("defaults: %+v", o)
	}
	if o := (SetupOptions{Replicas: 3}).withDefaults(); o.EventsReplicas != 3 {
		t.Errorf("events replicas %d with 3 for the streams and none given, want 3", o.EventsReplicas)
	}
}

// In a cluster the event stream may have fewer replicas than the others;
// with one it persists asynchronously, as on a single server.
func TestStreamConfigsEventsReplicas(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		events  int
		want    int
		persist jetstream.PersistModeType
	}{
		{0, 3, jetstream.DefaultPersistMode},
		{3, 3, jetstream.DefaultPersistMode},
		{1, 1, jetstream.AsyncPersistMode},
	} {
		for _, cfg := range streamConfigs(SetupOptions{Replicas: 3, EventsReplicas: tc.events}.withDefaults()) {
			want, persist := 3, jetstream.DefaultPersistMode
			if cfg.Name == StreamEvents {
				want, persist = tc.want, tc.persist
			}
			if cfg.Replicas != want || cfg.PersistMode != persist {
				t.Errorf("EventsReplicas %d: %s has %d replicas, persist mode %v; want %d, %v",
					tc.events, cfg.Name, cfg.Replicas, cfg.PersistMode, want, persist)
			}
		}
	}
}
