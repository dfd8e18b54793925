package supervisor

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// fakeSupervisor records the directives a strategy gives.
type fakeSupervisor struct {
	mu       sync.Mutex
	restarts int
	stops    int
}

func (f *fakeSupervisor) Children() []*actor.PID { return nil }

func (f *fakeSupervisor) EscalateFailure(any, any) { panic("the strategy never escalates") }

func (f *fakeSupervisor) RestartChildren(pids ...*actor.PID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarts += len(pids)
}

func (f *fakeSupervisor) StopChildren(pids ...*actor.PID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops += len(pids)
}

func (f *fakeSupervisor) ResumeChildren(...*actor.PID) { panic("the strategy never resumes") }

func (f *fakeSupervisor) counts() (restarts, stops int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restarts, f.stops
}

// fakeSink records what the strategy reports.
type fakeSink struct {
	mu       sync.Mutex
	failures []failure
	replaced int
}

func (f *fakeSink) failed(fl failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fl)
}

func (f *fakeSink) replace() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replaced++
}

func (f *fakeSink) last() failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failures[len(f.failures)-1]
}

func (f *fakeSink) replacements() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replaced
}

// The strategy runs in a synctest bubble: its timers use the bubble's fake
// clock, so exact delays are asserted without waiting for them.
func TestStrategyBackoffAndBudget(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sup, sink := &fakeSupervisor{}, &fakeSink{}
		s := &restartStrategy{
			backoff:     Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2},
			maxRestarts: 3,
			window:      time.Minute,
			timers:      newTimers(),
			sink:        sink,
			random:      func() float64 { return 1 }, // the top of the jitter range: the nominal delay
		}
		defer s.timers.close()
		child := actor.NewPID("local", "worker")
		rs := actor.NewRestartStatistics()
		msg := &job{}
		fail := func() failure {
			t.Helper()
			s.HandleFailure(nil, sup, child, rs, &PanicError{Value: "boom"}, msg)
			return sink.last()
		}

		// Within the budget: restarted after Initial×2^(n-1), and not before.
		for n, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
			f := fail()
			if f.failures != n+1 || f.delay != want || f.replaced || f.message != msg {
				t.Fatalf("failure %d: got %+v, want failures=%d delay=%v, restart, message passed on", n+1, f, n+1, want)
			}
			time.Sleep(want - time.Nanosecond)
			synctest.Wait()
			if r, _ := sup.counts(); r != n {
				t.Fatalf("failure %d: %d restarts before the delay, want %d", n+1, r, n)
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if r, _ := sup.counts(); r != n+1 {
				t.Fatalf("failure %d: %d restarts after the delay, want %d", n+1, r, n+1)
			}
		}

		// Over the budget: stopped now, replaced after Max.
		f := fail()
		if !f.replaced || f.delay != 2*time.Second || f.failures != 4 {
			t.Fatalf("failure 4: got %+v, want replaced after 2s", f)
		}
		if r, stops := sup.counts(); r != 3 || stops != 1 {
			t.Fatalf("failure 4: restarts=%d stops=%d, want 3 and 1", r, stops)
		}
		time.Sleep(2*time.Second - time.Nanosecond)
		synctest.Wait()
		if got := sink.replacements(); got != 0 {
			t.Fatalf("replaced before the delay")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if got := sink.replacements(); got != 1 {
			t.Fatalf("%d replacements after the delay, want 1", got)
		}

		// The statistics start over after a replacement.
		if f := fail(); f.failures != 1 || f.delay != 100*time.Millisecond {
			t.Fatalf("after the replacement: got %+v, want the first failure again", f)
		}
		time.Sleep(time.Second)

		// Failures older than the window no longer count.
		fail()
		time.Sleep(2 * time.Minute)
		if f := fail(); f.failures != 1 {
			t.Fatalf("after the window: %d failures counted, want 1", f.failures)
		}
		time.Sleep(time.Second)
	})
}

func TestStrategyJitterLowerBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{}
		s := &restartStrategy{
			backoff:     Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2},
			maxRestarts: 1,
			window:      time.Minute,
			timers:      newTimers(),
			sink:        sink,
			random:      func() float64 { return 0 },
		}
		defer s.timers.close()
		rs := actor.NewRestartStatistics()
		s.HandleFailure(nil, &fakeSupervisor{}, actor.NewPID("local", "w"), rs, "boom", nil)
		if f := sink.last(); f.delay != 50*time.Millisecond {
			t.Errorf("restart delay %v, want half of 100ms", f.delay)
		}
		s.HandleFailure(nil, &fakeSupervisor{}, actor.NewPID("local", "w"), rs, "boom", nil)
		if f := sink.last(); !f.replaced || f.delay != 500*time.Millisecond {
			t.Errorf("replacement delay %v (replaced=%v), want half of the 1s max", f.delay, f.replaced)
		}
		if _, ok := sink.last().err.(*PanicError); !ok {
			t.Errorf("a bare panic value is reported as %T, want *PanicError", sink.last().err)
		}
	})
}

func TestStrategyStopsSchedulingWhenClosed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sup := &fakeSupervisor{}
		s := &restartStrategy{
			backoff:     Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2},
			maxRestarts: 10,
			window:      time.Minute,
			timers:      newTimers(),
			sink:        &fakeSink{},
			random:      func() float64 { return 1 },
		}
		rs := actor.NewRestartStatistics()
		child := actor.NewPID("local", "w")
		s.HandleFailure(nil, sup, child, rs, "boom", nil) // pending when closed: cancelled
		s.timers.close()
		s.HandleFailure(nil, sup, child, rs, "boom", nil) // after close: never scheduled
		time.Sleep(time.Hour)
		synctest.Wait()
		if r, _ := sup.counts(); r != 0 {
			t.Errorf("%d restarts after the timers closed, want 0", r)
		}
	})
}
