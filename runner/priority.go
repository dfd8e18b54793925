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
// rung: a ring can be lost, and a task naked with a delay comes back
// without one.
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
type prioritySource struct {
	cons   []readyFetcher // in actors.Priorities order (routing.go's lanes)
	bell   *transport.Doorbell
	wait   time.Duration // how long one Fetch may wait for a first task
	shares []int         // guaranteed slots per window, same order as cons

	mu     sync.Mutex
	credit []float64
}

func newPrioritySource(cons []readyFetcher, bell *transport.Doorbell, wait time.Duration) *prioritySource {
	// Same order as actors.Priorities: critical, high, normal, low.
	shares := []int{0, 4, 2, 1}
	return &prioritySource{cons: cons, bell: bell, wait: wait, shares: shares, credit: make([]float64, len(cons))}
}

var _ supervisor.Source = (*prioritySource)(nil)

// Fetch returns up to max deliveries chosen by priority, waiting up to the
// source's wait for the first when there are none.
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

// pass takes up to limit ready deliveries without waiting: first the slots
// owed to lower priorities, then strictly from the highest priority down.
func (s *prioritySource) pass(ctx context.Context, limit int) ([]supervisor.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []supervisor.Delivery
	served := make([]int, len(s.cons))
	take := func(i, n int) error {
		got, err := s.cons[i].FetchReady(ctx, n)
		for _, d := range got {
			out = append(out, d)
		}
		served[i] += len(got)
		if err == nil && len(got) < n {
			s.credit[i] = 0 // empty: no claim until it has work again
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
