package transport

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

func TestPublishFetchAck(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "docs", TaskTypes: []string{"summarize"}})

	task := newTask("summarize")
	task.Priority = actors.PriorityCritical
	res, err := c.PublishTask(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stream != StreamTasks || res.Seq == 0 || res.Duplicate {
		t.Fatalf("PublishResult = %+v", res)
	}

	d := fetchOne(t, tc)
	if d.Seq() != res.Seq || d.NumDelivered() != 1 {
		t.Fatalf("seq %d delivered %d, want seq %d delivered 1", d.Seq(), d.NumDelivered(), res.Seq)
	}
	if d.Subject() != "ymera.tasks.summarize.critical" {
		t.Fatalf("subject %q", d.Subject())
	}
	got, err := DecodeTask(d.Data())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != task.ID || got.Name != task.Name || !got.CreatedAt.Equal(task.CreatedAt) {
		t.Fatalf("got %+v, want %+v", got, task)
	}
	if err := d.AckSync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(); err == nil {
		t.Fatal("second answer to one delivery succeeded")
	}
	// Acked on a work queue: the message is gone.
	waitStreamMsgs(t, c, StreamTasks, 0)
	fetchNone(t, tc)
}

func TestFetchBatchAndEmptyWait(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "batch", TaskTypes: []string{"b"}, FetchWait: 200 * time.Millisecond})

	start := time.Now()
	ds, err := tc.Fetch(ctx, 5)
	if err != nil || len(ds) != 0 {
		t.Fatalf("Fetch on an empty queue = %d deliveries, %v", len(ds), err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("empty Fetch took %v with FetchWait 200ms", el)
	}

	tasks := make([]actors.Task, 7)
	for i := range tasks {
		tasks[i] = newTask("b")
	}
	for i, err := range c.PublishTasks(ctx, tasks) {
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	ds, err = tc.Fetch(ctx, 5)
	if err != nil || len(ds) != 5 {
		t.Fatalf("Fetch(5) with 7 ready = %d deliveries, %v", len(ds), err)
	}
	rest, err := tc.Fetch(ctx, 5)
	if err != nil || len(rest) != 2 {
		t.Fatalf("second Fetch(5) = %d deliveries, %v; want the other 2", len(rest), err)
	}
	seen := map[string]bool{}
	for _, d := range append(ds, rest...) {
		task, err := d.Task()
		if err != nil {
			t.Fatal(err)
		}
		seen[task.ID] = true
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != len(tasks) {
		t.Fatalf("received %d distinct tasks, want %d", len(seen), len(tasks))
	}
}

// A task arriving while Fetch long-polls is returned at once, not after
// the fetch wait.
func TestFetchReturnsFirstTaskWithoutWaitingForBatch(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "lp", TaskTypes: []string{"lp"}, FetchWait: 8 * time.Second})

	type result struct {
		n   int
		err error
		el  time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		ds, err := tc.Fetch(ctx, 10)
		done <- result{len(ds), err, time.Since(start)}
	}()
	time.Sleep(100 * time.Millisecond) // let the long poll start
	if _, err := c.PublishTask(ctx, newTask("lp")); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.n != 1 {
			t.Fatalf("Fetch = %d, %v", r.n, r.err)
		}
		if r.el > 4*time.Second {
			t.Fatalf("Fetch held a single task for %v", r.el)
		}
	case <-time.After(testTimeout):
		t.Fatal("Fetch did not return")
	}
}

func TestFetchReturnsOnCancel(t *testing.T) {
	t.Parallel()
	c := setup(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "cancel", TaskTypes: []string{"c"}, FetchWait: time.Minute})
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	ds, err := tc.Fetch(ctx, 1)
	if !errors.Is(err, context.Canceled) || len(ds) != 0 {
		t.Fatalf("Fetch after cancel = %d, %v; want none, context.Canceled", len(ds), err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Fetch took %v to notice the cancel", el)
	}
}

// TestPublishWithoutMessageID: a publish made WithoutMessageID leaves no
// Nats-Msg-Id for the server to remember, so the same task published so
// twice is two messages, while a WithMessageID on the same context still
// names the message and is deduplicated.
func TestPublishWithoutMessageID(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	task := newTask("noid")
	bare := WithoutMessageID(ctx)
	first, err := c.PublishTask(bare, task)
	if err != nil {
		t.Fatal(err)
	}
	errs := c.PublishEach(ctx, []context.Context{bare}, []actors.Task{task})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	stream, err := c.JS().Stream(ctx, StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	for seq := first.Seq; seq <= first.Seq+1; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v (want two messages of one task)", seq, err)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != "" {
			t.Errorf("message %d has Nats-Msg-Id %q, want none", seq, id)
		}
	}
	named := WithMessageID(bare, task.ID+".named")
	a, err := c.PublishTask(named, task)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PublishTask(named, task)
	if err != nil || !b.Duplicate || b.Seq != a.Seq {
		t.Errorf("republish with a message id = %+v, %v; want Duplicate of seq %d", b, err, a.Seq)
	}
	waitStreamMsgs(t, c, StreamTasks, 3)
}

func TestDuplicatePublishStoresOnce(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "dup", TaskTypes: []string{"dup"}})

	task := newTask("dup")
	first, err := c.PublishTask(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.PublishTask(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("republish = %+v, want Duplicate of seq %d", again, first.Seq)
	}
	for i, err := range c.PublishTasks(ctx, []actors.Task{task, task}) {
		if err != nil {
			t.Fatalf("batch republish %d: %v", i, err)
		}
	}
	waitStreamMsgs(t, c, StreamTasks, 1)
	d := fetchOne(t, tc)
	if err := d.Ack(); err != nil {
		t.Fatal(err)
	}
	fetchNone(t, tc)
}

func TestNakRedelivers(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "nak", TaskTypes: []string{"nak"}})
	if _, err := c.PublishTask(ctx, newTask("nak")); err != nil {
		t.Fatal(err)
	}
	d := fetchOne(t, tc)
	if err := d.Nak(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	d2 := fetchOne(t, tc)
	if d2.Seq() != d.Seq() || d2.NumDelivered() != 2 {
		t.Fatalf("redelivery seq %d delivered %d, want seq %d delivered 2", d2.Seq(), d2.NumDelivered(), d.Seq())
	}
	task, err := d2.Task()
	if err != nil || task.Attempt != 2 {
		t.Fatalf("Task() attempt %d, %v; want 2", task.Attempt, err)
	}
	if err := d2.Ack(); err != nil {
		t.Fatal(err)
	}
}

// The server measures a nak delay from BackOff[0] but compares it with the
// backoff of the current delivery; Nak corrects for it both when the delay
// is longer than the skew (shortened server-side delay) and shorter (timer).
func TestNakDelayIsExactWithBackOff(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	backOff := []time.Duration{500 * time.Millisecond, 3 * time.Second} // skew 2.5 s from delivery 2
	tc := consumer(t, c, ConsumerOptions{Kind: "skew", TaskTypes: []string{"skew"}, MaxDeliver: 5, BackOff: backOff})
	if _, err := c.PublishTask(ctx, newTask("skew")); err != nil {
		t.Fatal(err)
	}
	d := fetchOne(t, tc)
	if err := d.Nak(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	d = fetchOne(t, tc) // delivery 2

	start := time.Now()
	if err := d.Nak(50 * time.Millisecond); err != nil { // shorter than the skew
		t.Fatal(err)
	}
	if err := d.Ack(); err == nil {
		t.Fatal("Ack after Nak succeeded")
	}
	d = fetchOne(t, tc) // delivery 3
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Nak(50ms) on delivery 2 redelivered after %v (uncorrected: 2.55s)", el)
	}

	start = time.Now()
	if err := d.Nak(2700 * time.Millisecond); err != nil { // longer than the skew
		t.Fatal(err)
	}
	d = fetchOne(t, tc) // delivery 4
	if el := time.Since(start); el < 2500*time.Millisecond || el > 4500*time.Millisecond {
		t.Fatalf("Nak(2.7s) on delivery 3 redelivered after %v (uncorrected: 5.2s)", el)
	}
	if d.NumDelivered() != 4 {
		t.Fatalf("delivered %d, want 4", d.NumDelivered())
	}
	if err := d.Ack(); err != nil {
		t.Fatal(err)
	}
}

// After MaxDeliver deliveries the task is not delivered again; the server
// announces it, it stays in the work-queue stream, and DeadLetter moves it
// to YMERA_DLQ.
func TestMaxDeliverAndDeadLetter(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	advisories := make(chan []byte, 4)
	subj, err := MaxDeliveriesAdvisorySubject("poison")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.NC().Subscribe(subj, func(m *nats.Msg) { advisories <- m.Data })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	tc := consumer(t, c, ConsumerOptions{Kind: "poison", TaskTypes: []string{"poison"}, MaxDeliver: 3, AckWait: 5 * time.Second})
	task := newTask("poison")
	res, err := c.PublishTask(ctx, task)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		d := fetchOne(t, tc)
		if d.NumDelivered() != uint64(i) {
			t.Fatalf("delivery %d reports NumDelivered %d", i, d.NumDelivered())
		}
		if err := d.Nak(0); err != nil {
			t.Fatal(err)
		}
	}
	fetchNone(t, tc)

	var adv MaxDeliveriesAdvisory
	select {
	case b := <-advisories:
		if adv, err = DecodeMaxDeliveriesAdvisory(b); err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("no max-deliveries advisory")
	}
	if adv.StreamSeq != res.Seq || adv.Deliveries != 3 || adv.Consumer != "agent_poison" {
		t.Fatalf("advisory %+v, want seq %d after 3 deliveries", adv, res.Seq)
	}
	waitStreamMsgs(t, c, StreamTasks, 1) // still there: work queues keep it

	for range 2 { // twice: idempotent
		if err := c.DeadLetter(ctx, adv.StreamSeq, "max deliveries"); err != nil {
			t.Fatal(err)
		}
	}
	waitStreamMsgs(t, c, StreamTasks, 0)
	waitStreamMsgs(t, c, StreamDeadLetters, 1)
	dlq, err := c.JS().Stream(ctx, StreamDeadLetters)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := dlq.GetLastMsgForSubject(ctx, "ymera.dlq.poison")
	if err != nil {
		t.Fatal(err)
	}
	if dead.Header.Get(HeaderDeadReason) != "max deliveries" || dead.Header.Get(HeaderDeadSubject) != "ymera.tasks.poison.normal" {
		t.Fatalf("dead letter headers %v", dead.Header)
	}
	if got, err := DecodeTask(dead.Data); err != nil || got.ID != task.ID {
		t.Fatalf("dead letter body: %v, %v", got.ID, err)
	}
}

func TestTermRemovesTask(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "term", TaskTypes: []string{"term"}})
	if _, err := c.PublishTask(ctx, newTask("term")); err != nil {
		t.Fatal(err)
	}
	d := fetchOne(t, tc)
	if err := d.InProgress(); err != nil {
		t.Fatal(err)
	}
	if err := d.Term(); err != nil {
		t.Fatal(err)
	}
	waitStreamMsgs(t, c, StreamTasks, 0)
	fetchNone(t, tc)
}

// Each kind receives only its own task types.
func TestConsumerFilterIsolation(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	sec := consumer(t, c, ConsumerOptions{Kind: "security", TaskTypes: []string{"security_scan", "vuln_check"}})
	doc := consumer(t, c, ConsumerOptions{Kind: "documentation", TaskTypes: []string{"write_docs"}})

	want := map[string]string{}
	for _, tt := range []string{"security_scan", "write_docs", "vuln_check", "write_docs"} {
		task := newTask(tt)
		if _, err := c.PublishTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		want[task.ID] = tt
	}
	check := func(tc *TaskConsumer, allowed map[string]bool, n int) {
		t.Helper()
		for range n {
			d := fetchOne(t, tc)
			task, err := d.Task()
			if err != nil {
				t.Fatal(err)
			}
			if !allowed[task.Type] || want[task.ID] != task.Type {
				t.Fatalf("%s received %s task %s", tc.Name(), task.Type, task.ID)
			}
			if err := d.Ack(); err != nil {
				t.Fatal(err)
			}
		}
		fetchNone(t, tc)
	}
	check(sec, map[string]bool{"security_scan": true, "vuln_check": true}, 2)
	check(doc, map[string]bool{"write_docs": true}, 2)
}

func TestEnsureConsumerIdempotentAndConflicts(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	opts := ConsumerOptions{Kind: "a", TaskTypes: []string{"y", "x", "x"}, PoolSize: 100}
	consumer(t, c, opts)
	before, err := c.JS().Consumer(ctx, StreamTasks, "agent_a")
	if err != nil {
		t.Fatal(err)
	}
	consumer(t, c, opts)
	after, err := c.JS().Consumer(ctx, StreamTasks, "agent_a")
	if err != nil {
		t.Fatal(err)
	}
	b, a := before.CachedInfo(), after.CachedInfo()
	if !a.Created.Equal(b.Created) {
		t.Fatal("consumer recreated")
	}
	cfg := a.Config
	if cfg.MaxDeliver != DefaultMaxDeliver || cfg.AckWait != DefaultAckWait || cfg.MaxAckPending != 1600 ||
		len(cfg.BackOff) != DefaultMaxDeliver-1 || cfg.BackOff[0] != DefaultAckWait {
		t.Fatalf("consumer config %+v", cfg)
	}
	if len(cfg.FilterSubjects) != 2 || cfg.FilterSubjects[0] != "ymera.tasks.x.*" {
		t.Fatalf("filters %v", cfg.FilterSubjects)
	}

	_, err = c.EnsureConsumer(ctx, ConsumerOptions{Kind: "b", TaskTypes: []string{"x"}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second kind claiming x: err = %v, want ErrConflict", err)
	}
	for _, bad := range []ConsumerOptions{
		{Kind: "Bad Kind", TaskTypes: []string{"x"}},
		{Kind: "c", TaskTypes: nil},
		{Kind: "c", TaskTypes: []string{"a.b"}},
		{Kind: "c", TaskTypes: []string{"z"}, MaxDeliver: 2, BackOff: []time.Duration{time.Second, time.Second}},
	} {
		if _, err := c.EnsureConsumer(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("EnsureConsumer(%+v): err = %v, want ErrInvalid", bad, err)
		}
	}
}

// waitStreamMsgs waits until stream holds n messages.
func waitStreamMsgs(t *testing.T, c *Conn, stream string, n uint64) {
	t.Helper()
	ctx := testCtx(t)
	s, err := c.JS().Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	var got uint64
	for ctx.Err() == nil {
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got = info.State.Msgs; got == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s holds %d messages, want %d", stream, got, n)
}
