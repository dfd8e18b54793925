package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// builtinNamespace is the UUID namespace of built-in agent ids.
var builtinNamespace = uuid.MustParse("6f1c2b1e-5a0e-4d7a-9a53-3b1f0a2c7e10")

// BuiltinAgentID is the agent id of kind's pool on the named node: a
// UUIDv5 of "<node>/<kind>", the same on every start, so the node keeps its
// row, its routed consumers and the tasks routed to it across restarts.
func BuiltinAgentID(node, kind string) string {
	return uuid.NewSHA1(builtinNamespace, []byte(node+"/"+kind)).String()
}

// builtinAgent is one kind's pool on this node as an agent: registered in
// the store, heartbeating, learning from its attempts.
type builtinAgent struct {
	id    string
	kind  actors.Kind
	stats *agentStats
	pool  *supervisor.Pool // set once the pool runs
}

// registerBuiltin creates or refreshes the agent row of kind on node. A
// built-in agent has no owner: only admins see it in GET /agents, and its
// presence events go to admins. Its capabilities are the kind's task types.
func registerBuiltin(ctx context.Context, agents AgentStore, node string, kind actors.Kind) (*builtinAgent, error) {
	b := &builtinAgent{id: BuiltinAgentID(node, kind.Name), kind: kind, stats: &agentStats{}}
	name := kind.Name + " on " + node
	desc := fmt.Sprintf("Built-in %s agent pool of node %s", kind.Name, node)
	caps := append([]string(nil), kind.TaskTypes...)
	err := agents.Create(ctx, store.Agent{ID: b.id, Name: name, Description: desc, Capabilities: caps,
		Config: []byte(`{"builtin":true}`), Status: presenceOffline})
	if errors.Is(err, store.ErrConflict) {
		_, err = agents.Update(ctx, b.id, store.AgentUpdate{Name: &name, Description: &desc, Capabilities: &caps})
	}
	if err != nil {
		return nil, fmt.Errorf("runner: register %s agent %s: %w", kind.Name, b.id, err)
	}
	return b, nil
}

// heartbeat is the agent's current beat.
func (b *builtinAgent) heartbeat() transport.Heartbeat {
	hb := transport.Heartbeat{Kind: b.kind.Name, Status: actors.Healthy}
	if b.pool != nil {
		st := b.pool.Stats()
		hb.InFlight, hb.Capacity = st.Busy, st.Size
		if st.Degraded {
			hb.Status = actors.Degraded
		}
	}
	hb.Outcomes, hb.SuccessRate, hb.LatencyMS = b.stats.snapshot()
	return hb
}

// HeartbeatPutter stores heartbeats (transport.Conn).
type HeartbeatPutter interface {
	PutHeartbeat(ctx context.Context, agentID string, hb transport.Heartbeat) error
	DeleteHeartbeat(ctx context.Context, agentID string) error
}

// beat puts every agent's heartbeat every interval until ctx ends, then
// deletes the keys so that watchers see the node's agents offline at once.
func beat(ctx context.Context, hb HeartbeatPutter, agents []*builtinAgent, every time.Duration, log *slog.Logger) {
	put := func() {
		for _, a := range agents {
			if err := hb.PutHeartbeat(ctx, a.id, a.heartbeat()); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "heartbeat not stored", "agent_id", a.id, "kind", a.kind.Name, "error", err)
			}
		}
	}
	put()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			for _, a := range agents {
				_ = hb.DeleteHeartbeat(dctx, a.id)
			}
			cancel()
			return
		case <-t.C:
			put()
		}
	}
}
