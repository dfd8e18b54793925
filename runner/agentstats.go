package runner

import (
	"context"
	"sync"
	"time"

	"github.com/ymera/ymera/actors"
)

// statsAlpha is the weight of the newest outcome in the moving averages:
// about the last ten attempts matter.
const statsAlpha = 0.2

// agentStats learns one agent's success rate and latency from its
// attempts, as exponentially weighted moving averages. The node publishes
// them in the agent's heartbeats, where the Selector reads them.
type agentStats struct {
	mu       sync.Mutex
	outcomes int
	success  float64
	latency  float64 // milliseconds
}

func (s *agentStats) observe(ok bool, d time.Duration) {
	v := 0.0
	if ok {
		v = 1
	}
	ms := float64(d) / float64(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcomes == 0 {
		s.success, s.latency = v, ms
	} else {
		s.success += statsAlpha * (v - s.success)
		s.latency += statsAlpha * (ms - s.latency)
	}
	s.outcomes++
}

func (s *agentStats) snapshot() (outcomes int, success, latencyMS float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outcomes, s.success, s.latency
}

// attemptKey carries, in a delivery's context, which agent runs it and
// since when, so that settling the attempt can teach the agent's stats.
type attemptKey struct{}

type attemptInfo struct {
	agentID string
	stats   *agentStats
	started time.Time
}

func withAttempt(ctx context.Context, agentID string, stats *agentStats) context.Context {
	if stats == nil {
		return ctx
	}
	return context.WithValue(ctx, attemptKey{}, attemptInfo{agentID: agentID, stats: stats, started: time.Now()})
}

// AgentObserver is an Observer that also wants each finished attempt's
// agent and duration. The node calls TaskAttempt, when its Observer
// implements it, for every attempt that ends with an outcome; a failed
// attempt that is retried comes with status queued.
type AgentObserver interface {
	TaskAttempt(agentID, taskType string, status actors.Status, d time.Duration)
}

// learn records the outcome of the attempt ctx carries, if any.
func (rt *runtime) learn(ctx context.Context, taskType string, status actors.Status) {
	a, ok := ctx.Value(attemptKey{}).(attemptInfo)
	if !ok || status == actors.StatusCancelled { // a cancel says nothing of the agent
		return
	}
	d := time.Since(a.started)
	a.stats.observe(status == actors.StatusCompleted, d)
	if o, ok := rt.observer.(AgentObserver); ok {
		o.TaskAttempt(a.agentID, taskType, status, d)
	}
}
