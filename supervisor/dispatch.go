package supervisor

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// token offers one idle actor for one job.
type token struct {
	pid  *actor.PID
	slot *slot
}

// ready offers an actor for work. Actors call it when Start has succeeded and
// after each Handle that returned normally, and at no other time: an actor
// that failed is offered again only once it has restarted.
//
// It never blocks, so an actor can never be stuck behind the dispatcher.
func (p *Pool) ready(pid *actor.PID, s *slot) {
	p.idle.Add(1)
	p.idleMu.Lock()
	p.idleList = append(p.idleList, token{pid: pid, slot: s})
	p.idleMu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// takeIdle appends the actors offered since the last call to idle.
func (p *Pool) takeIdle(idle []token) []token {
	p.idleMu.Lock()
	idle = append(idle, p.idleList...)
	clear(p.idleList) // drop the PIDs, so stopped actors can be collected
	p.idleList = p.idleList[:0]
	p.idleMu.Unlock()
	return idle
}

// dispatch is the pool's one fetching goroutine. It asks the Source for at
// most as many deliveries as there are idle actors, and only when there is
// at least one, and hands each delivery to one idle actor: so no more
// deliveries are unsettled than there are actors, and JetStream keeps the
// rest for other nodes. It returns when fetchCtx ends, naking (delay 0) what
// it fetched but did not hand out.
func (p *Pool) dispatch() {
	defer close(p.dispatched)
	var idle []token
	var fetchFailures int
	for {
		idle = p.takeIdle(idle)
		if len(idle) == 0 {
			select {
			case <-p.wake:
				continue
			case <-p.fetchCtx.Done():
				return
			}
		}
		ds, err := p.cfg.Source.Fetch(p.fetchCtx, len(idle))
		if p.fetchCtx.Err() != nil {
			p.nakAll(ds)
			return
		}
		if len(ds) > len(idle) {
			p.log.Error("source returned more deliveries than asked for; handing the surplus back",
				"asked", len(idle), "got", len(ds))
			p.nakAll(ds[len(idle):])
			ds = ds[:len(idle)]
		}
		for i, d := range ds {
			p.assign(idle[i], d)
		}
		n := copy(idle, idle[len(ds):])
		clear(idle[n:])
		idle = idle[:n]

		if err == nil {
			fetchFailures = 0
			continue
		}
		// Back off from a failing source as from a failing actor, so that an
		// unreachable NATS server is not polled in a tight loop.
		fetchFailures++
		delay := Jitter(p.cfg.Backoff.Delay(fetchFailures), p.strategy.random())
		p.log.Warn("fetch failed; retrying", "error", err, "failures", fetchFailures, "retry_in", delay)
		if !sleep(p.fetchCtx, delay) {
			return
		}
	}
}

// assign hands d to the idle actor t: parked in its slot, then announced
// with an actor-to-actor Send (no futures on this path).
func (p *Pool) assign(t token, d Delivery) {
	j := &job{d: d}
	p.idle.Add(-1)
	p.inflight.add()
	t.slot.pending.Store(j)
	p.sys.Root.Send(t.pid, j)
}

// release hands back a job that was sent to an actor but never handled,
// because the actor is stopping.
func (p *Pool) release(j *job) {
	p.nak(j.d, 0)
	p.inflight.done()
}

func (p *Pool) nakAll(ds []Delivery) {
	for _, d := range ds {
		p.nak(d, 0)
	}
}

func (p *Pool) nak(d Delivery, delay time.Duration) {
	if err := d.Nak(delay); err != nil {
		// It will come back anyway once its ack wait runs out.
		p.log.Warn("nak failed", "error", err, "delay", delay)
	}
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// inflight counts the jobs handed to actors and not yet finished, and lets
// Stop wait for it to drop to zero.
type inflight struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to zero; nil until someone waits
}

func (f *inflight) add() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done() {
	f.mu.Lock()
	f.n--
	if f.n == 0 && f.zero != nil {
		close(f.zero)
		f.zero = nil
	}
	f.mu.Unlock()
}

func (f *inflight) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// wait returns nil once no job is in flight, or ctx's error if it ends
// first.
func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	if f.zero == nil {
		f.zero = make(chan struct{})
	}
	zero := f.zero
	f.mu.Unlock()
	select {
	case <-zero:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
