package runner

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// DefaultRefLatency is the latency at which an agent's latency factor is
// one half.
const DefaultRefLatency = time.Second

// LiveAgents is what the Selector reads presence from (PresenceWatcher).
type LiveAgents interface {
	// EachLive calls fn with the latest beat of every live agent.
	EachLive(fn func(id string, hb transport.Heartbeat))
}

// KindOf says which agent kind offers a task type (transport.TaskTypes).
type KindOf interface {
	Kind(taskType string) (string, bool)
}

// Selector picks, among the live built-in agents of the kind that offers a
// task type, the one a task is routed to, by the performance rule in
// Score. It learns from outcomes through the agents' heartbeats, which
// carry the moving averages their node keeps (agentstats.go).
type Selector struct {
	Presence LiveAgents
	Kinds    KindOf
	// RefLatency is the latency scale of Score (default DefaultRefLatency).
	RefLatency time.Duration
}

// Score is an agent's routing weight: health (active 1, degraded 0.5,
// unhealthy 0) × load factor (1 − in_flight/capacity, 1 when the capacity
// is unknown) × success rate (moving average of outcomes, 1 before any) ×
// latency factor (ref / (ref + moving average latency)). Zero means the
// agent is not a candidate.
func Score(hb transport.Heartbeat, ref time.Duration) float64 {
	if ref <= 0 {
		ref = DefaultRefLatency
	}
	health := 1.0
	switch hb.Status {
	case actors.Degraded:
		health = 0.5
	case actors.Unhealthy:
		return 0
	}
	load := 1.0
	if hb.Capacity > 0 {
		load = max(0, 1-float64(hb.InFlight)/float64(hb.Capacity))
	}
	success := 1.0
	if hb.Outcomes > 0 {
		success = min(max(hb.SuccessRate, 0), 1)
	}
	refMS := float64(ref) / float64(time.Millisecond)
	latency := refMS / (refMS + max(hb.LatencyMS, 0))
	return health * load * success * latency
}

// Pick returns the agent id a task of taskType goes to, or "" when no live
// agent of its kind has a positive score (the task then goes to the kind's
// shared queue, which any of them takes from). The choice is random,
// weighted by Score, rather than always the best: beats come every few
// seconds, and sending every task in between to one agent would overload
// it before its load showed.
func (s *Selector) Pick(taskType string) string {
	kind, ok := s.Kinds.Kind(taskType)
	if !ok {
		return ""
	}
	type cand struct {
		id    string
		score float64
	}
	var cands []cand
	total := 0.0
	s.Presence.EachLive(func(id string, hb transport.Heartbeat) {
		if hb.Kind != kind {
			return
		}
		if sc := Score(hb, s.RefLatency); sc > 0 {
			cands = append(cands, cand{id, sc})
			total += sc
		}
	})
	if len(cands) == 0 {
		return ""
	}
	r := rand.Float64() * total
	for _, c := range cands {
		if r < c.score {
			return c.id
		}
		r -= c.score
	}
	return cands[len(cands)-1].id
}

// RoutedQueue is a Queue that routes each task not addressed to an agent to
// the one its Selector picks. The task's row keeps no agent: the choice is
// a placement, so the Sweeper republishes a task left pending to the
// kind's shared queue. The message is marked as the selector's choice
// (transport.WithSelectedRoute), so when the agent goes offline the
// PresenceWatcher moves it back to the shared queue; a task the user
// addressed to an agent carries no mark and stays with that agent.
type RoutedQueue struct {
	Queue    Queue
	Selector *Selector
}

// PublishTask publishes t, routed.
func (q RoutedQueue) PublishTask(ctx context.Context, t actors.Task) error {
	if t.AgentID == "" && q.Selector != nil {
		if t.AgentID = q.Selector.Pick(t.Type); t.AgentID != "" {
			ctx = transport.WithSelectedRoute(ctx)
		}
	}
	return q.Queue.PublishTask(ctx, t)
}
