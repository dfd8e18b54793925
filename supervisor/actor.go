package supervisor

import (
	"context"
	"runtime/debug"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// job is the message that hands one delivery to one worker actor. The same
// pointer is also parked in the actor's slot, so that whoever claims it first,
// the actor to handle it or the actor's shutdown to nak it, is the only one
// to settle it.
type job struct {
	d Delivery
	// handled is set once Handle has returned normally; a failure reported
	// after that (there should be none) must not settle the delivery again.
	handled atomic.Bool
}

// slot is where the dispatcher parks the job it sends to one actor. It lives
// as long as the actor's PID, across restarts.
type slot struct {
	pending atomic.Pointer[job]
}

// claim takes j from the slot; false means someone else took it.
func (s *slot) claim(j *job) bool { return s.pending.CompareAndSwap(j, nil) }

// respawn tells the pool actor to spawn a worker in place of one that
// exhausted its restart budget.
type respawn struct{}

// poolActor is the parent of a pool's worker actors. It exists so that the
// workers have a supervisor running our restartStrategy (set on its Props),
// and so that stopping it stops every worker and tells us, with Stopped, when
// the last one has terminated.
type poolActor struct {
	p        *Pool
	stopping bool
}

// Receive implements actor.Actor.
func (a *poolActor) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *actor.Started:
		for range a.p.cfg.Size {
			a.spawnWorker(c)
		}
	case *respawn:
		// A replacement spawned while stopping would never be stopped, and
		// the pool actor would wait for it forever.
		if !a.stopping {
			a.spawnWorker(c)
		}
		a.p.down.Add(-1)
	case *actor.Stopping:
		a.stopping = true
	case *actor.Stopped:
		a.p.stopped()
	}
}

func (a *poolActor) spawnWorker(c actor.Context) {
	s := &slot{}
	p := a.p
	c.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor {
		return &workerActor{p: p, slot: s}
	}, actor.WithDispatcher(p.mailbox)), "worker-")
}

// workerActor runs one Worker. protoactor makes a new workerActor at every
// restart, and a new Worker is made on each Started, so no state survives a
// crash except the slot.
type workerActor struct {
	p    *Pool
	slot *slot
	w    Worker
}

// Receive implements actor.Actor.
func (a *workerActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *job:
		a.handle(c, m)
	case *actor.Started:
		a.start(c)
	case *actor.Restarting:
		a.stopWorker()
	case *actor.Stopping:
		// A job sent to us but not yet received: the pool is stopping, so
		// hand it back, before a possibly slow Stop, to be delivered at once
		// elsewhere.
		if j := a.slot.pending.Swap(nil); j != nil {
			a.p.release(j)
		}
		a.stopWorker()
	}
}

// start makes and starts the worker, then offers the actor for work. A Start
// error panics, so that it is a failure like any other and the strategy
// restarts the actor with backoff.
func (a *workerActor) start(c actor.Context) {
	defer capturePanic()
	w := a.p.cfg.NewWorker()
	if err := w.Start(a.p.workCtx); err != nil {
		panic(&startError{err: err})
	}
	a.w = w
	a.p.ready(c.Self(), a.slot)
}

// handle runs one job. If Handle panics, the panic propagates to protoactor,
// which suspends this actor and hands the *job to the strategy as the failed
// message: the pool naks the delivery there, with the restart delay, and this
// actor is not offered for work again until it has restarted.
func (a *workerActor) handle(c actor.Context, j *job) {
	if !a.slot.claim(j) {
		return
	}
	a.run(j)
	j.handled.Store(true)
	a.p.inflight.done()
	a.p.ready(c.Self(), a.slot)
}

func (a *workerActor) run(j *job) {
	defer capturePanic()
	a.w.Handle(a.p.workCtx, j.d)
}

// stopWorker stops the current worker, if any. It runs while protoactor is
// restarting or stopping the actor, where a panic would be reported as yet
// another failure of the actor; so a panicking Stop is logged and ignored.
func (a *workerActor) stopWorker() {
	w := a.w
	if w == nil {
		return
	}
	a.w = nil
	defer func() {
		if r := recover(); r != nil {
			a.p.log.Error("worker stop panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	// Stop runs even when the pool's context is already cancelled: cleanup
	// is exactly what a stopping pool wants done.
	w.Stop(context.WithoutCancel(a.p.workCtx))
}

// capturePanic turns a panic into a *PanicError carrying the stack where it
// happened, and panics again so that protoactor's supervision sees the
// failure; by the time the strategy runs the stack would be gone.
func capturePanic() {
	r := recover()
	switch r.(type) {
	case nil:
		return
	case *startError:
		panic(r)
	default:
		panic(&PanicError{Value: r, Stack: debug.Stack()})
	}
}
