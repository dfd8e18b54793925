package runner

import (
	"context"
	"sync"
	"time"

	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// drainWindow is the number of worker slots over which the lower
// priorities' guaranteed shares are counted.
const drainWindow = 16

// idleRecheck is how often an idle pool looks at its queues without being
// rung: a ring can be lost, a task naked with a delay comes back without
// one, and a publisher outside YMERA may not ring (docs/protocol.md).
const idleRecheck = time.Second

// prioritySource feeds a pool from the kind's four priority consumers
// (critical, high, normal, low). Each free worker slot goes to the highest
// priority with work, except that the lower priorities are guaranteed a
// share of every drainWindow slots while they have work: high 4, normal 2,
// low 1 (critical takes the rest, at least 9). So critical tasks overtake a
// backlog of low ones at once, and a low task still starts within about
// sixteen slots however much higher-priority work keeps arriving.
//
// The shares are kept as credit: every slot handed out earns each lower
// priority share/drainWindow of a slot, a slot it gets costs it one, and a
// priority holding a whole slot of credit is served before the strict
// order. Credit is capped at one window's share and dropped when the
// priority turns out empty, so an idle queue cannot save up a burst.
//
// When every queue is empty, Fetch waits on the kind's doorbell (see
// transport.Doorbell) rather than long-polling four consumers, and looks
// again every idleRecheck in case a ring was lost.
//
// A priority found empty is not asked again until its doorbell rings or
// laneRecheck passes. Every ask is a pull request, a subscription and a
// reply even when nothing is there, and with tasks of one priority flowing
// (the usual case) the other three were asked on every pass: in a 64-way
// PostgreSQL bench, 15,400 of 16,300 fetches came back empty, and every
// one of those allocated ~5 KB.
type prioritySource struct {
	cons   []readyFetcher // in actors.Priorities order (routing.go's lanes)
	bell   *transport.Doorbell
	wait   time.Duration // how long one Fetch may wait for a first task
	shares []int         // guaranteed slots per window, same order as cons

	mu     sync.Mutex
	credit []float64
	empty  []emptyMark // same order as cons
}

// laneRecheck bounds how long a priority found empty goes unasked without a
// ring: a task naked with a delay, or redelivered after its ack wait,
// comes back without one.
const laneRecheck = 100 * time.Millisecond

// lateRecheck is how soon a priority is asked again when it was found
// empty right after a ring of its own. The server sends the ring and counts
// the message for the consumers on separate goroutines, so a no-wait fetch
// sent at once can still be told there is nothing; without a second look
// that task would wait for the next ring or laneRecheck.
const lateRecheck = 2 * time.Millisecond

// emptyMark records whether a priority was last found empty (set) and
// when, and its doorbell's ring count read before that fetch was sent, so
// that a ring arriving during the fetch still counts as news. late marks a
// look that followed a ring and still found nothing: it is repeated once
// after lateRecheck.
type emptyMark struct {
	set  bool
	late bool
	rung uint64
	at   time.Time
}

func newPrioritySource(cons []readyFetcher, bell *transport.Doorbell, wait time.Duration) *prioritySource {
	// Same order as actors.Priorities: critical, high, normal, low.
	shares := []int{0, 4, 2, 1}
	return &prioritySource{cons: cons, bell: bell, wait: wait, shares: shares,
		credit: make([]float64, len(cons)), empty: make([]emptyMark, len(cons))}
}

var _ supervisor.Source = (*prioritySource)(nil)

// Fetch returns up to max deliveries chosen by priority, waiting up to the
// source's wait for the first when there are none. It looks as soon as a
// ring comes: a ring stands for a publisher's batch (transport/ring.go),
// so waiting for more rings, as pools did while every stored task rang,
// would only delay a batch already stored (docs/performance.md, step 20).
func (s *prioritySource) Fetch(ctx context.Context, max int) ([]supervisor.Delivery, error) {
	deadline := time.Now().Add(s.wait)
	for {
		// Forget old rings before looking: a ring after this point is news.
		s.bell.Clear()
		out, err := s.pass(ctx, max)
		if err != nil || len(out) > 0 {
			return out, err
		}
		wait := min(idleRecheck, time.Until(deadline))
		if s.anyLate() {
			wait = min(wait, lateRecheck)
		}
		if wait <= 0 {
			return nil, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.bell.Rings():
			t.Stop()
		case <-t.C:
		}
	}
}

// knownEmpty says whether priority i was found empty less than laneRecheck
// ago with no ring of its priority since.
func (s *prioritySource) knownEmpty(i int, now time.Time) bool {
	e := s.empty[i]
	if e.late && now.Sub(e.at) >= lateRecheck {
		return false
	}
	return e.set && s.bell.Rung(i) == e.rung && now.Sub(e.at) < laneRecheck
}

// anyLate says whether a priority is waiting for its second look.
func (s *prioritySource) anyLate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.empty {
		if e.late {
			return true
		}
	}
	return false
}

// pass takes up to limit ready deliveries without waiting: first the slots
// owed to lower priorities, then strictly from the highest priority down.
func (s *prioritySource) pass(ctx context.Context, limit int) ([]supervisor.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []supervisor.Delivery
	served := make([]int, len(s.cons))
	now := time.Now()
	take := func(i, n int) error {
		if s.knownEmpty(i, now) {
			return nil
		}
		rung := s.bell.Rung(i)
		got, err := s.cons[i].FetchReady(ctx, n)
		for _, d := range got {
			out = append(out, d)
		}
		served[i] += len(got)
		switch {
		case err == nil && len(got) < n:
			s.credit[i] = 0 // empty: no claim until it has work again
			// Nothing at all, though it rang since the last look: the ring
			// may have run ahead of the consumer's count.
			late := len(got) == 0 && rung != s.empty[i].rung
			s.empty[i] = emptyMark{set: true, late: late, rung: rung, at: now}
		case len(got) > 0:
			s.empty[i] = emptyMark{rung: rung}
		}
		return err
	}

	var err error
	for i := len(s.cons) - 1; i > 0 && err == nil; i-- {
		if due := min(int(s.credit[i]), limit-len(out)); due > 0 {
			err = take(i, due)
		}
	}
	for i := 0; i < len(s.cons) && len(out) < limit && err == nil; i++ {
		err = take(i, limit-len(out))
	}

	n := float64(len(out))
	for i := 1; i < len(s.cons); i++ {
		share := float64(s.shares[i])
		c := s.credit[i] + n*share/drainWindow - float64(served[i])
		s.credit[i] = min(max(c, 0), share)
	}
	if err != nil && ctx.Err() == nil && len(out) > 0 {
		// Keep what arrived; the next Fetch reports a lasting failure.
		return out, nil
	}
	return out, err
}
