package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Pool is one agent kind's supervised actors and the dispatcher that feeds
// them. StartPool starts it; Stop (or the Supervisor's Shutdown) stops it.
//
// Its parts: a pool actor, spawned at the root of the actor system, whose
// Props carry the restart strategy and whose children are the Size worker
// actors; and one dispatcher goroutine, owned by the Pool, that fetches from
// the Source for idle actors only and Sends each delivery to one of them.
type Pool struct {
	cfg      PoolConfig
	sup      *Supervisor
	sys      *actor.ActorSystem
	log      *slog.Logger
	strategy *restartStrategy
	timers   *timers
	mailbox  keptDispatcher // runs the worker actors' mailboxes

	// fetchCtx ends when Stop begins: no new work is fetched after that.
	fetchCtx  context.Context
	stopFetch context.CancelFunc
	// workCtx is given to Worker.Start and Handle. It ends when the pool
	// halts, after the in-flight work finished or Stop's ctx ran out.
	workCtx    context.Context
	cancelWork context.CancelFunc

	// parent is the pool actor, set once spawned; atomic because timer
	// callbacks read it.
	parent atomic.Pointer[actor.PID]

	idleMu   sync.Mutex
	idleList []token       // actors offered since the dispatcher last looked
	wake     chan struct{} // capacity 1: an actor was offered
	idle     atomic.Int64  // actors offered and not yet given a job

	inflight inflight
	restarts atomic.Int64
	down     atomic.Int64 // actors stopped past their budget, not yet replaced

	dispatched  chan struct{} // closed when the dispatcher returns
	actorsDone  chan struct{} // closed when the pool actor and its workers are stopped
	stoppedOnce sync.Once
	haltOnce    sync.Once
}

// PoolStats is a snapshot of a pool's actors. Size-Idle-Busy actors are
// starting, restarting (waiting out their backoff) or down.
type PoolStats struct {
	// Size is the configured number of actors.
	Size int
	// Idle counts running actors waiting for a delivery.
	Idle int
	// Busy counts deliveries handed to actors and not yet finished.
	Busy int
	// Restarts counts failures since the pool started; each one restarts the
	// actor or, past its budget, replaces it.
	Restarts int
	// Down counts actors that exhausted their restart budget and wait, for
	// the maximum backoff, to be replaced.
	Down int
	// Degraded is true while Down > 0: the pool runs below its Size.
	Degraded bool
}

func newPool(ctx context.Context, sup *Supervisor, cfg PoolConfig, random func() float64) *Pool {
	p := &Pool{
		cfg:        cfg,
		sup:        sup,
		sys:        sup.sys,
		log:        cfg.Logger,
		timers:     newTimers(),
		mailbox:    newKeptDispatcher(cfg.Size),
		wake:       make(chan struct{}, 1),
		dispatched: make(chan struct{}),
		actorsDone: make(chan struct{}),
	}
	p.strategy = &restartStrategy{
		backoff:     cfg.Backoff,
		maxRestarts: cfg.MaxRestarts,
		window:      cfg.Window,
		timers:      p.timers,
		sink:        p,
		random:      random,
	}
	// The pool lives until Stop, not until ctx ends: the caller's context is
	// typically the process's, cancelled by SIGTERM, and cancelling it must
	// not cut in-flight work short before Stop had a chance to drain it. Its
	// values (trace, logger) are kept.
	base := context.WithoutCancel(ctx)
	p.fetchCtx, p.stopFetch = context.WithCancel(base)
	p.workCtx, p.cancelWork = context.WithCancel(base)
	return p
}

// start spawns the pool actor, which spawns the workers, and the dispatcher.
func (p *Pool) start() error {
	props := actor.PropsFromProducer(func() actor.Actor { return &poolActor{p: p} },
		actor.WithSupervisor(p.strategy))
	pid, err := p.sys.Root.SpawnNamed(props, "pool-"+p.cfg.Name)
	if err != nil {
		return fmt.Errorf("supervisor: spawn pool %q: %w", p.cfg.Name, err)
	}
	p.parent.Store(pid)
	go p.dispatch()
	return nil
}

// Name returns the pool's agent kind.
func (p *Pool) Name() string { return p.cfg.Name }

// Stats returns a snapshot of the pool's actors.
func (p *Pool) Stats() PoolStats {
	down := int(p.down.Load())
	return PoolStats{
		Size:     p.cfg.Size,
		Idle:     int(p.idle.Load()),
		Busy:     p.inflight.count(),
		Restarts: int(p.restarts.Load()),
		Down:     down,
		Degraded: down > 0,
	}
}

// Stop stops the pool gracefully. It stops fetching at once (deliveries the
// dispatcher fetched but did not hand out are naked with no delay, so another
// node takes them at once), waits for the in-flight Handle calls to return,
// then stops every actor, calling Worker.Stop for each running worker.
//
// If ctx ends first, Stop cancels the context of the running Handle calls,
// asks the actors to stop anyway (each stops once its Handle returns; a job
// sent to an actor but not yet begun is naked), and returns ctx's error
// without waiting further. Calling Stop again, or Shutdown, waits again.
// Stop may be called concurrently and more than once.
func (p *Pool) Stop(ctx context.Context) error {
	p.stopFetch()
	err := waitClosed(ctx, p.dispatched)
	if err == nil {
		err = p.inflight.wait(ctx)
	}
	p.haltOnce.Do(p.halt)
	if err == nil {
		err = waitClosed(ctx, p.actorsDone)
	}
	if err != nil {
		return fmt.Errorf("supervisor: stop pool %q: %w", p.cfg.Name, err)
	}
	p.sup.forget(p)
	return nil
}

// halt ends the work context, cancels pending restarts (a restart now would
// only start a worker to stop it) and stops the pool actor, which stops its
// workers first.
func (p *Pool) halt() {
	p.cancelWork()
	p.timers.close()
	if pid := p.parent.Load(); pid != nil {
		p.sys.Root.Stop(pid)
	}
}

// stopped is called by the pool actor once it and all its workers are
// stopped.
func (p *Pool) stopped() {
	p.stoppedOnce.Do(func() {
		// The offers of the stopped actors are void; Stats should say so.
		p.idle.Store(0)
		p.mailbox.Stop()
		close(p.actorsDone)
	})
}

// failed implements failureSink: it settles the delivery the actor was
// handling, counts, logs and calls the hooks.
func (p *Pool) failed(f failure) {
	p.restarts.Add(1)
	if j, ok := f.message.(*job); ok && !j.handled.Load() {
		// Exactly once: protoactor reports each failure once, with the
		// message being processed, and a job is handled by one actor once.
		// The delay matches the restart's, so a poison message does not come
		// back faster than the actors it crashes.
		p.nak(j.d, f.delay)
		p.inflight.done()
	}
	attrs := []any{"actor", f.child.GetId(), "error", f.err, "failures", f.failures, "delay", f.delay}
	if pe, ok := f.err.(*PanicError); ok && pe.Stack != nil {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	if f.replaced {
		p.down.Add(1)
		p.log.Error("worker exhausted its restart budget; replacing it after the delay, pool degraded",
			append(attrs, "max_restarts", p.cfg.MaxRestarts, "window", p.cfg.Window)...)
	} else {
		p.log.Warn("worker failed; restarting it after the delay", attrs...)
	}
	h := p.cfg.Hooks
	if h.OnFailure != nil {
		h.OnFailure(p.cfg.Name, f.err)
	}
	if f.replaced && h.OnReplace != nil {
		h.OnReplace(p.cfg.Name)
	}
	if !f.replaced && h.OnRestart != nil {
		h.OnRestart(p.cfg.Name)
	}
}

// replace implements failureSink: the pool actor spawns the replacement, so
// that it is supervised like the others.
func (p *Pool) replace() {
	if pid := p.parent.Load(); pid != nil {
		p.sys.Root.Send(pid, &respawn{})
	}
}

// waitClosed waits until ch is closed or ctx ends.
func waitClosed(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
