package supervisor

import (
	"sync"
	"time"
)

// timers owns the delayed restarts and replacements of one pool, so that
// stopping the pool cancels those not yet due and waits for those running:
// no timer callback outlives its pool.
type timers struct {
	mu      sync.Mutex
	pending map[*time.Timer]struct{}
	closed  bool
	running sync.WaitGroup // one count per scheduled callback, until it ends or is cancelled
}

func newTimers() *timers {
	return &timers{pending: make(map[*time.Timer]struct{})}
}

// after runs f once d has passed, unless close is called first. It reports
// false, and never runs f, once the timers are closed.
func (ts *timers) after(d time.Duration, f func()) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.closed {
		return false
	}
	ts.running.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer ts.running.Done()
		// t is assigned under the lock taken here too, so reading it is safe
		// even if the timer fires before AfterFunc has returned.
		ts.mu.Lock()
		_, due := ts.pending[t]
		delete(ts.pending, t)
		ts.mu.Unlock()
		if due {
			f()
		}
	})
	ts.pending[t] = struct{}{}
	return true
}

// close cancels every pending callback, refuses new ones, and waits for any
// callback already running to return.
func (ts *timers) close() {
	ts.mu.Lock()
	ts.closed = true
	for t := range ts.pending {
		if t.Stop() {
			ts.running.Done() // the callback will never run to count itself done
		}
		delete(ts.pending, t)
	}
	ts.mu.Unlock()
	ts.running.Wait()
}
