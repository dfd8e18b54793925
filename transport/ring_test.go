package transport

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
)

// rings subscribes to every doorbell subject and returns what has arrived
// so far: after c.nc.Flush, every ring c published before it, since the
// server answers the flush after it has delivered them on the same
// connection.
func rings(t *testing.T, c *Conn) func() []string {
	t.Helper()
	sub, err := c.nc.SubscribeSync(prefixDoorbell + ">")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return func() []string {
		t.Helper()
		if err := c.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			m, err := sub.NextMsg(0)
			if err != nil {
				break
			}
			if len(m.Data) != 0 {
				t.Errorf("ring on %s has a body: %q", m.Subject, m.Data)
			}
			got = append(got, m.Subject)
		}
		slices.Sort(got)
		return got
	}
}

// TestPublishersRingOncePerLane: every publish rings its lane's doorbell
// once the task is stored, a batch once per lane it stored into, whichever
// of the publishing calls made it.
func TestPublishersRingOncePerLane(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	got := rings(t, c)

	batch := make([]actors.Task, 0, 12)
	for i := range 12 {
		task := newTask("ring_job")
		switch i % 3 {
		case 1:
			task.Priority = actors.PriorityHigh
		case 2:
			task.AgentID = "agent-7" // routed: a lane of its own
		}
		batch = append(batch, task)
	}
	for i, err := range c.PublishTasks(ctx, batch) {
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	want := []string{"ymera.ring.tasks.ring_job.high", "ymera.ring.tasks.ring_job.normal", "ymera.ring.tasks.ring_job.normal.agent-7"}
	if r := got(); !slices.Equal(r, want) {
		t.Errorf("PublishTasks of 12 tasks in 3 lanes rang %q, want %q", r, want)
	}

	each := []actors.Task{newTask("ring_job"), newTask("ring_job"), newTask("other_job")}
	for i, err := range c.PublishEach(ctx, nil, each) {
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	want = []string{"ymera.ring.tasks.other_job.normal", "ymera.ring.tasks.ring_job.normal"}
	if r := got(); !slices.Equal(r, want) {
		t.Errorf("PublishEach rang %q, want %q", r, want)
	}

	one := newTask("ring_job")
	one.Priority = actors.PriorityLow
	if _, err := c.PublishTask(ctx, one); err != nil {
		t.Fatal(err)
	}
	if r := got(); !slices.Equal(r, []string{"ymera.ring.tasks.ring_job.low"}) {
		t.Errorf("PublishTask rang %q, want the low lane once", r)
	}

	// A task that was not published (no such priority) rings nothing: a
	// ring says a task is there to take.
	bad := newTask("ring_job")
	bad.Priority = "urgent"
	if errs := c.PublishTasks(ctx, []actors.Task{bad}); errs[0] == nil {
		t.Fatal("a task with an unknown priority was published")
	}
	if r := got(); len(r) != 0 {
		t.Errorf("a refused task rang %q", r)
	}
}

// TestSetupDropsTheStreamsRepublish: YMERA_TASKS made by an earlier
// version rang every stored task itself (a headers-only RePublish on the
// doorbell subjects); Setup removes that, so the stream no longer rings
// beside the publishers.
func TestSetupDropsTheStreamsRepublish(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{})
	ctx := testCtx(t)
	var tasks jetstream.StreamConfig
	for _, cfg := range streamConfigs(SetupOptions{}.withDefaults()) {
		if cfg.Name == StreamTasks {
			tasks = cfg
		}
	}
	if tasks.RePublish != nil {
		t.Fatalf("%s is configured with a RePublish: %+v", StreamTasks, tasks.RePublish)
	}
	tasks.RePublish = &jetstream.RePublish{Source: subjectAllTasks, Destination: prefixDoorbell + ">", HeadersOnly: true}
	stream, err := c.JS().CreateStream(ctx, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.RePublish != nil {
		t.Fatalf("after Setup %s still republishes: %+v", StreamTasks, info.Config.RePublish)
	}

	got := rings(t, c)
	subject, err := TaskSubject("ring_job", actors.PriorityNormal)
	if err != nil {
		t.Fatal(err)
	}
	body, err := EncodeTask(newTask("ring_job"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.JS().PublishMsg(ctx, &nats.Msg{Subject: subject, Data: body}); err != nil {
		t.Fatal(err)
	}
	if r := got(); len(r) != 0 {
		t.Errorf("a task published without a ring rang %q: the stream still republishes", r)
	}
}
