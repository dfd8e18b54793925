package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
)

// Heartbeat is an agent's presence record in ymera_heartbeats, stored under
// its agent id. The bucket's TTL (three heartbeat intervals) removes the key
// of an agent that stops beating, which is how it is seen to go offline.
type Heartbeat struct {
	// V is the body version; PutHeartbeat sets it.
	V int `json:"v"`
	// AgentID is the agent instance; PutHeartbeat sets it from its argument.
	AgentID string `json:"agent_id"`
	// Kind is the agent kind the instance runs.
	Kind string `json:"kind"`
	// Status is the agent's own health (actors.Healthy, ...).
	Status actors.HealthStatus `json:"status"`
	// Time is when the beat was taken; PutHeartbeat sets it to now when
	// zero.
	Time time.Time `json:"time"`
	// InFlight is how many tasks the agent is processing.
	InFlight int `json:"in_flight"`
	// Capacity is how many tasks the agent processes at once (a pool's
	// workers); 0 when unknown. Routing reads load as InFlight/Capacity.
	Capacity int `json:"capacity,omitempty"`
	// Outcomes is how many finished attempts SuccessRate and LatencyMS
	// learned from; 0 means no history yet (routing assumes the best).
	Outcomes int `json:"outcomes,omitempty"`
	// SuccessRate is an exponentially weighted moving average of attempt
	// outcomes (1 success, 0 failure or timeout).
	SuccessRate float64 `json:"success_rate,omitempty"`
	// LatencyMS is an exponentially weighted moving average of attempt
	// durations, in milliseconds.
	LatencyMS float64 `json:"latency_ms,omitempty"`
}

// PutHeartbeat stores hb as agentID's current heartbeat, renewing its TTL.
func (c *Conn) PutHeartbeat(ctx context.Context, agentID string, hb Heartbeat) error {
	if err := checkAgentID(agentID); err != nil {
		return err
	}
	if hb.Kind != "" && !actors.ValidToken(hb.Kind) {
		return fmt.Errorf("%w: heartbeat of %s: kind %q is not a token", ErrInvalid, agentID, hb.Kind)
	}
	hb.V, hb.AgentID = ProtocolVersion, agentID
	if hb.Time.IsZero() {
		hb.Time = time.Now().UTC()
	}
	val, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("transport: heartbeat of %s: %w", agentID, err)
	}
	kv, err := c.bucket(ctx, BucketHeartbeats)
	if err != nil {
		return wrap("heartbeat of "+agentID, err)
	}
	if _, err := kv.Put(ctx, agentID, val); err != nil {
		return wrap("heartbeat of "+agentID, err)
	}
	return nil
}

// DecodeHeartbeat parses a heartbeat value, refusing other major versions
// with ErrUnsupportedVersion.
func DecodeHeartbeat(b []byte) (Heartbeat, error) {
	var hb Heartbeat
	if err := json.Unmarshal(b, &hb); err != nil {
		return Heartbeat{}, fmt.Errorf("%w: decode heartbeat: %w", ErrInvalid, err)
	}
	if err := checkVersion(hb.V); err != nil {
		return Heartbeat{}, fmt.Errorf("transport: decode heartbeat: %w", err)
	}
	return hb, nil
}
