package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/internal/kept"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// leased is a delivery that knows its JetStream stream sequence, which the
// store keeps as the lease of the attempt it starts.
type leased interface {
	Seq() uint64
}

// terminable is a delivery that can be dropped for good (a message that can
// never be decoded).
type terminable interface {
	Term() error
}

// settleTimeout bounds the commit and acknowledgement after an agent returns,
// which run even when the node is shutting down so finished work is kept.
const settleTimeout = 10 * time.Second

// worker is one actor's state: a fresh agent instance and the shared runtime.
type worker struct {
	kind  actors.Kind
	rt    *runtime
	agent actors.Agent
	self  *builtinAgent // the pool as a registered agent; nil when unregistered (builtin.go)
}

var _ supervisor.Worker = (*worker)(nil)

func (w *worker) Start(ctx context.Context) error {
	w.agent = w.kind.New()
	if in, ok := w.agent.(actors.Initializer); ok {
		if err := in.Initialize(ctx); err != nil {
			return fmt.Errorf("runner: initialize %s agent: %w", w.kind.Name, err)
		}
	}
	return nil
}

func (w *worker) Stop(ctx context.Context) {
	if c, ok := w.agent.(actors.Cleaner); ok {
		if err := c.Cleanup(ctx); err != nil {
			w.rt.log.WarnContext(ctx, "agent cleanup failed", "kind", w.kind.Name, "error", err)
		}
	}
}

// Handle runs one delivery through start, process, commit and ack. It does not
// recover panics: the supervisor owns crashes (nak and restart).
func (w *worker) Handle(ctx context.Context, d supervisor.Delivery) {
	rt := w.rt
	msg, err := transport.DecodeTask(d.Data())
	if err != nil {
		// No attempt can ever succeed; drop the message, keep a loud trace.
		rt.log.ErrorContext(ctx, "dropping undecodable task message", "kind", w.kind.Name, "error", err)
		if t, ok := d.(terminable); ok {
			_ = t.Term()
		} else {
			_ = d.Ack()
		}
		return
	}
	var lease int64
	if l, ok := d.(leased); ok {
		lease = int64(l.Seq())
	}
	log := taskLogger(rt.log, slog.String("task_id", msg.ID), slog.String("task_type", msg.Type), slog.Int64("lease", lease))
	if w.self != nil {
		ctx = withAttempt(ctx, w.self.id, w.self.stats) // settle teaches the agent's stats
	}

	if ok, fresh := rt.mayDefer(ctx, d, msg.ID, lease); ok {
		w.handleDeferred(ctx, d, log, msg, lease, fresh) // deferred.go
		return
	}
	st, err := rt.begin(ctx, d, log, msg, lease)
	if err != nil {
		rt.refuse(ctx, d, log, err)
		return
	}
	task := st.Task
	task.Attempt = st.Attempts
	run, cancel := context.WithCancelCause(ctx)
	res, perr, timedOut := w.process(ctx, run, cancel, d, task)
	cancel(nil)
	if stopping(ctx, perr, timedOut) {
		_ = d.Nak(0)
		return
	}
	rt.settleAsync(ctx, log, d, attempt{Task: st}, res, perr, timedOut)
}

// begin records the start of the attempt d holds (outage.go's startHeld
// waits out a store outage), taking the task over when its running
// attempt lost its message (takeover.go), and announces it. It returns
// ErrConflict when the task is final or held by a live delivery.
func (rt *runtime) begin(ctx context.Context, d supervisor.Delivery, log *slog.Logger,
	msg actors.Task, lease int64) (store.Task, error) {
	st, err := rt.startHeld(ctx, d, log, msg, lease)
	if errors.Is(err, store.ErrConflict) {
		st, err = rt.takeOver(ctx, log, msg.ID, lease, func() (store.Task, error) { return rt.start(ctx, msg, lease, false) })
	}
	if err == nil {
		publishEvent(ctx, rt.events, log, taskEvent("task.started", st.Task, actors.StatusRunning, nil))
	}
	return st, err
}

// refuse answers a delivery whose attempt could not begin: a task final
// already or held by a live delivery is acknowledged (nothing for this one
// to do), one the store did not answer for is handed back.
func (rt *runtime) refuse(ctx context.Context, d supervisor.Delivery, log *slog.Logger, err error) {
	if errors.Is(err, store.ErrConflict) {
		log.DebugContext(ctx, "task not startable; acknowledging", "error", err)
		_ = d.Ack()
		return
	}
	log.WarnContext(ctx, "could not start task; handing it back", "error", err)
	_ = d.Nak(rt.storeBackoff())
}

// stopping says the node is stopping and the agent gave up: the task then
// goes back to the queue untouched for another node, rather than being
// recorded failed.
func stopping(ctx context.Context, perr error, timedOut bool) bool {
	return ctx.Err() != nil && perr != nil && !timedOut
}

// rowCommitted says whether d's message was published after its task's row
// was committed (transport.HeaderRowCommitted). A delivery that cannot say
// is taken to have one, the way every delivery was started before the mark.
func rowCommitted(d supervisor.Delivery) bool {
	rc, ok := d.(interface{ RowCommitted() bool })
	return !ok || rc.RowCommitted()
}

// settleAsync settles the attempt off the actor, which is then free for its
// next delivery while the result writer commits this outcome. A worker that
// waited for the commit could run at most one task per commit round trip,
// so a node's throughput was its worker count over the commit latency
// whatever the CPU had left (64 no-op workers stalled at ~3,800 tasks/s on
// PostgreSQL, docs/performance.md). The delivery stays unacknowledged until
// its outcome is committed, as before; settling bounds how many attempts
// wait for their commit at once, so a slow store still slows the workers.
//
// A successful attempt is handed to the result writer with what follows its
// commit (settleByWriter), and no goroutine waits for it; any other outcome
// is settled on a goroutine of its own (settleOff), which can wait on the
// store as long as it must.
func (rt *runtime) settleAsync(ctx context.Context, log *slog.Logger, d supervisor.Delivery, a attempt,
	res actors.Result, perr error, timedOut bool) {
	if rt.settling == nil { // a runtime made outside StartNode
		rt.settle(ctx, log, d, a, res, perr, timedOut)
		return
	}
	rt.settling.slots <- struct{}{}
	rt.settling.wg.Add(1)
	if perr == nil && !timedOut && rt.settleByWriter(ctx, log, d, a, res) {
		return
	}
	rt.settleOff(ctx, log, d, func() { rt.settle(ctx, log, d, a, res, perr, timedOut) })
}

// settleOff runs settle, which settles d, on a kept goroutine, and then
// frees the attempt's settling slot.
func (rt *runtime) settleOff(ctx context.Context, log *slog.Logger, d supervisor.Delivery, settle func()) {
	rt.settling.run.Go(func() {
		defer rt.settling.release()
		defer handBackOnPanic(ctx, log, d)
		settle()
	})
}

// handBackOnPanic, deferred, hands d back when settling it panicked. Off
// the actor (on a settling goroutine, or the result writer's goroutine for
// a batch) a panic would end the process rather than restart an actor.
func handBackOnPanic(ctx context.Context, log *slog.Logger, d supervisor.Delivery) {
	if p := recover(); p != nil {
		log.ErrorContext(ctx, "settling the attempt panicked; handing the task back", "panic", p)
		_ = d.Nak(0)
	}
}

// settleByWriter settles a successful attempt without a goroutine waiting
// for its commit: it hands the outcome to the result writer together with
// what settle does after the commit, which the writer runs for each outcome
// of a batch once the batch is committed (resultWriter.commitThen). The
// worker waits for neither the commit nor the writer: the outcome is
// queued and the worker goes on to its next delivery. Against settling
// goroutines that waited for their commit, the server spent 5-8 % less CPU
// per task at 256 connections and 11-15 % less for tasks published
// straight to NATS (docs/performance.md, step 25).
//
// What follows the commit is settle's, on the writer's goroutine for the
// batch: the verdict, the acknowledgement and the event. The two verdicts
// that wait on the store go to a goroutine as before (settleOff): a store
// that did not answer (settle then tries again, holding the delivery while
// it must), and a deferred start that found the row not as it expected
// (afterCommit then begins the attempt). It returns false, with the
// attempt's slot still held, when the writer cannot take the outcome:
// there is none, it has stopped, or it cannot make rows.
func (rt *runtime) settleByWriter(ctx context.Context, log *slog.Logger, d supervisor.Delivery, a attempt,
	res actors.Result) bool {
	g, ok := rt.tasks.(groupTasks)
	rowless := a.fresh && a.deferred()
	if !ok || g.w == nil || (rowless && g.w.creator == nil) {
		return false
	}
	o := store.Outcome{Status: actors.StatusCompleted, Result: res.Output, StartedAt: a.began}
	// The task goes along so that a store keeping the rows it ends for
	// waiting clients can build this one rather than return it.
	r := finishReq{item: store.Finished{ID: a.ID, Lease: a.Lease, Outcome: o, At: rt.now(), Task: &a.Task.Task}}
	if rowless {
		t := rowlessTask(a.Task.Task)
		r.task = &t
	}
	r.then = func(err error) {
		handed := false // to settleOff, which frees the slot
		defer func() {
			if !handed {
				rt.settling.release()
			}
		}()
		defer handBackOnPanic(ctx, log, d)
		detached := context.WithoutCancel(ctx)
		v := rt.finished(detached, log, a.Task, o, err)
		switch {
		case v.answer == answerNak && errors.Is(v.err, store.ErrUnavailable):
			handed = true
			rt.settleOff(ctx, log, d, func() { rt.settle(ctx, log, d, a, res, nil, false) })
		case errors.Is(v.err, store.ErrConflict) && a.deferred():
			handed = true
			rt.settleOff(ctx, log, d, func() { rt.afterCommit(ctx, detached, log, d, a, res, nil, false, v) })
		default:
			rt.answer(detached, log, d, a.Task, v)
		}
	}
	return g.w.commitThen(r)
}

// settlingSet is the attempts waiting for their outcome's commit (see
// settleAsync): a slot each, a wait group for the node's Stop, and the kept
// goroutines they run on (package kept: each reaches down into the store,
// and a fresh goroutine grew its stack on the way every time).
type settlingSet struct {
	slots chan struct{}
	wg    sync.WaitGroup
	run   *kept.Goroutines
}

// release frees an attempt's slot once it has settled.
func (s *settlingSet) release() {
	<-s.slots
	s.wg.Done()
}

// wait waits until every attempt has settled, or ctx ends.
func (s *settlingSet) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// process calls the agent under the task timeout, telling JetStream the
// delivery is still being worked on so it is not redelivered meanwhile.
// run is the attempt's context, a child of the worker's ctx that cancel
// ends with its cause: a cancel request (ErrCancelled), or a deferred
// start the store refused (errStartRefused).
func (w *worker) process(ctx, run context.Context, cancel context.CancelCauseFunc, d supervisor.Delivery,
	t actors.Task) (res actors.Result, err error, timedOut bool) {
	taskCtx, cancelTimeout := context.WithTimeout(run, w.rt.taskTimeout)
	defer cancelTimeout()
	defer w.rt.cancels.track(t.ID, cancel)() // see cancel.go
	if w.rt.caller != nil {
		taskCtx = actors.WithCaller(taskCtx, w.rt.caller.For(t))
	}

	defer w.rt.keepAlive(d)()

	res, err = w.agent.Process(taskCtx, t)
	timedOut = errors.Is(taskCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	if err != nil && cancelled(taskCtx) && ctx.Err() == nil {
		// Asked to stop, and it did: settle records the attempt cancelled.
		err, timedOut = fmt.Errorf("%w: %w", ErrCancelled, err), false
	}
	if err == nil && !timedOut && !validObject(res.Output) {
		err = actors.Permanent(errors.New("agent returned a result that is not a JSON object"))
	}
	return res, err, timedOut
}

func validObject(b json.RawMessage) bool {
	// Valid JSON whose value opens with a brace is an object; checking so
	// allocates nothing, where decoding it into a map built one per task.
	v := bytes.TrimLeft(b, " \t\r\n")
	return len(v) > 0 && v[0] == '{' && json.Valid(b)
}

// runtime is what every worker of a node shares.
type runtime struct {
	tasks       TaskStore
	events      EventPublisher
	log         *slog.Logger
	taskTimeout time.Duration
	ackWait     time.Duration
	retryBase   float64
	now         func() time.Time
	cancels     *cancels // running tasks, for cancel requests (cancel.go)
	noKeepAlive bool     // test hook: never call InProgress
	observer    Observer
	caller      *Caller    // agent-to-agent calls (caller.go); nil: none
	leases      LeaseProbe // takes over tasks whose lease's message is gone (takeover.go); nil: never
	settling    *settlingSet
	startDelay  time.Duration // deferred.go; 0 records every start before the agent runs
	cancelList  cancelList    // tasks cancelled before they started (deferred.go); nil: defer none
	// createFinished stores a task with no row together with its outcome
	// (deferred.go); nil: the store cannot, and such tasks are not deferred.
	createFinished func(ctx context.Context, nf store.NewFinish) error
}

// start moves the task to running under lease. A task published straight to
// NATS by a service has no row yet: the message is the record, so the row is
// made from it first, and then started on its own rather than waiting for
// another batch of the start writer.
//
// fresh says the message claims no committed row (rowCommitted), so a row
// made from it is tried first.
func (rt *runtime) start(ctx context.Context, msg actors.Task, lease int64, fresh bool) (store.Task, error) {
	var (
		st  store.Task
		err error
	)
	if g, ok := rt.tasks.(groupTasks); ok && g.starts != nil {
		st, err = g.starts.StartFrom(ctx, msg, fresh, lease, rt.now()) // rows from messages in batches too
	} else {
		st, err = rt.tasks.Start(ctx, msg.ID, lease, rt.now())
	}
	if !errors.Is(err, store.ErrNotFound) {
		return st, err
	}
	if msg.MaxAttempts <= 0 {
		msg.MaxAttempts = 1
	}
	if err := rt.tasks.Create(ctx, msg); err != nil && !errors.Is(err, store.ErrConflict) {
		return store.Task{}, err
	}
	return startAlone(ctx, rt.tasks, msg.ID, lease, rt.now())
}

// settle commits the attempt's outcome (commit, in outcome.go, which the
// results service shares), answers the delivery as the verdict says, then
// announces the event. node is the worker's context: the commit itself runs
// even when the node is stopping, so finished work is kept, but holding the
// delivery through a database outage ends when the node stops.
func (rt *runtime) settle(node context.Context, log *slog.Logger, d supervisor.Delivery, a attempt,
	res actors.Result, perr error, timedOut bool) {
	// Settling goes on while the node stops, so the finished work is kept.
	detached := context.WithoutCancel(node)
	v := rt.commitHeld(node, detached, d, log, func(ctx context.Context) verdict {
		return rt.commit(ctx, log, a, res, perr, timedOut)
	})
	rt.afterCommit(node, detached, log, d, a, res, perr, timedOut, v)
}

// afterCommit is settle once the outcome's commit returned the verdict v:
// a deferred start that found the row not as it expected begins the
// attempt and commits again; then the delivery is answered as the verdict
// says and the event announced.
func (rt *runtime) afterCommit(node, detached context.Context, log *slog.Logger, d supervisor.Delivery, a attempt,
	res actors.Result, perr error, timedOut bool, v verdict) {
	if errors.Is(v.err, store.ErrConflict) && a.deferred() {
		// A deferred start found the row was not what it expected
		// (deferred.go): cancelled meanwhile, or made or run before by a
		// message this one repeats. Begin as any delivery does, and commit
		// under the start that records.
		st, err := rt.begin(node, d, log, a.Task.Task, a.Lease)
		if err != nil {
			rt.refuse(node, d, log, err)
			return
		}
		a = attempt{Task: st}
		v = rt.commitHeld(node, detached, d, log, func(ctx context.Context) verdict {
			return rt.commit(ctx, log, a, res, perr, timedOut)
		})
	}
	// What follows the commit does not wait on anything (the ack and the
	// event are published without waiting for a reply), so it needs the
	// node's values, not a deadline: one timer fewer per task.
	rt.answer(detached, log, d, a.Task, v)
}

// answer answers d as the verdict v on st's outcome says, then announces
// the outcome. It waits on nothing.
func (rt *runtime) answer(ctx context.Context, log *slog.Logger, d supervisor.Delivery, st store.Task, v verdict) {
	if v.event != "" {
		rt.learn(ctx, st.Type, v.status) // routing learns from the outcome (agentstats.go)
	}
	switch v.answer {
	case answerAck:
		if err := d.Ack(); err != nil {
			// The outcome is committed; a redelivery finds the task final.
			log.WarnContext(ctx, "ack after commit failed", "error", err)
		}
	case answerNak:
		_ = d.Nak(v.delay)
	}
	rt.announce(ctx, log, st, v)
}

// keepAlive reports progress to JetStream a few times per AckWait until the
// returned stop is called, so a long task keeps its lease while it is alive.
// A timer, not a goroutine: most tasks end long before the first report, and
// then the only cost is arming and stopping it.
func (rt *runtime) keepAlive(d supervisor.Delivery) (stop func()) {
	if rt.noKeepAlive {
		return func() {}
	}
	every := rt.ackWait / 3
	if every <= 0 {
		every = 10 * time.Second
	}
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	mu.Lock() // t is set before the first report can read it
	defer mu.Unlock()
	t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		_ = d.InProgress()
		t.Reset(every)
	})
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		t.Stop()
	}
}

// storeBackoff is the redelivery delay when the database did not answer.
func (rt *runtime) storeBackoff() time.Duration {
	return time.Second + rand.N(time.Second)
}

// maxRetryDelay caps RetryDelay.
const maxRetryDelay = 5 * time.Minute

// RetryDelay is the wait before attempt+1: base^attempt seconds, capped at
// five minutes, with jitter taking it anywhere from half to all of that so
// that tasks failing together do not retry together.
func RetryDelay(base float64, attempt int) time.Duration {
	if base <= 1 {
		base = 2
	}
	d := float64(time.Second)
	for i := 0; i < attempt && d < float64(maxRetryDelay); i++ {
		d *= base
	}
	full := time.Duration(min(d, float64(maxRetryDelay)))
	half := full / 2
	return half + rand.N(full-half+1)
}
