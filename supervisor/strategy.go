package supervisor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// failure is one actor failure as the strategy decided to treat it.
type failure struct {
	child *actor.PID
	err   error
	// message is what the actor was processing when it failed: a *job when a
	// Handle panicked, a lifecycle message when Start failed.
	message any
	// failures counts the child's failures within the window, this one
	// included.
	failures int
	// delay is how long until the child restarts, or is replaced.
	delay time.Duration
	// replaced is true when the child exhausted its restart budget: it is
	// stopped now and a fresh actor takes its place after delay.
	replaced bool
}

// failureSink is what the strategy tells about failures: the pool, which
// settles the failed delivery, counts and logs.
type failureSink interface {
	// failed is called once per failure, before the restart or replacement is
	// scheduled, on the supervising actor's goroutine.
	failed(f failure)
	// replace is called once delay has passed after a failure with replaced
	// set, to spawn a fresh actor in place of the stopped one.
	replace()
}

// restartStrategy is the one-for-one supervisor strategy of a pool's worker
// actors: a failed actor is restarted alone, after an exponential backoff
// (Backoff.Delay of its failures within the window, jittered), as long as it
// has not failed more than maxRestarts times within the window. Past that
// budget it is stopped and, after the maximum backoff, replaced by a fresh
// actor, so that a pool loses capacity for a while but never for good.
//
// protoactor's own strategies do not fit: its one-for-one restarts at once
// and stops for good past the budget, and its "exponential" backoff is linear
// and has no budget.
type restartStrategy struct {
	backoff     Backoff
	maxRestarts int
	window      time.Duration
	timers      *timers
	sink        failureSink
	// random draws from [0, 1) for jitter; math/rand/v2's Float64 outside
	// tests.
	random func() float64
}

var _ actor.SupervisorStrategy = (*restartStrategy)(nil)

// HandleFailure implements actor.SupervisorStrategy. protoactor calls it on
// the parent's goroutine with the child's mailbox suspended, so the child
// processes nothing until it is restarted or stopped here.
func (s *restartStrategy) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
	rs *actor.RestartStatistics, reason, message any) {
	n, exhausted := s.record(rs)
	f := failure{
		child:    child,
		err:      reasonError(reason),
		message:  actor.UnwrapEnvelopeMessage(message),
		failures: n,
		replaced: exhausted,
	}
	if exhausted {
		f.delay = Jitter(s.backoff.Max, s.random())
		sup.StopChildren(child)
		s.sink.failed(f)
		s.timers.after(f.delay, s.sink.replace)
		return
	}
	f.delay = Jitter(s.backoff.Delay(n), s.random())
	s.sink.failed(f)
	// When the pool is stopping the timers are closed and the child stays
	// suspended until the pool stops it: a restart would only start a worker
	// to stop it again.
	s.timers.after(f.delay, func() { sup.RestartChildren(child) })
}

// record counts a failure in the child's restart statistics and returns how
// many failures fall within the window, this one included, and whether that
// exceeds the budget.
func (s *restartStrategy) record(rs *actor.RestartStatistics) (n int, exhausted bool) {
	// RestartStatistics only ever appends; forgetting the history once none
	// of it is within the window keeps it from growing without bound.
	if rs.NumberOfFailures(s.window) == 0 {
		rs.Reset()
	}
	rs.Fail()
	n = rs.NumberOfFailures(s.window)
	if n > s.maxRestarts {
		// The replacement is a new actor with fresh statistics; resetting
		// here as well keeps the numbers right should protoactor ever reuse
		// them.
		rs.Reset()
		return n, true
	}
	return n, false
}
