package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// readyFetcher is one priority's queue as the priority source sees it.
type readyFetcher interface {
	FetchReady(ctx context.Context, max int) ([]*transport.TaskDelivery, error)
}

// lane is one priority of a registered pool: the tasks routed to this
// agent first (they can run nowhere else), then the kind's shared ones.
type lane []*transport.TaskConsumer

func (l lane) FetchReady(ctx context.Context, max int) ([]*transport.TaskDelivery, error) {
	var out []*transport.TaskDelivery
	for _, c := range l {
		got, err := c.FetchReady(ctx, max-len(out))
		out = append(out, got...)
		if err != nil {
			if len(out) > 0 {
				return out, nil // keep what arrived; the next pass reports it
			}
			return nil, err
		}
		if len(out) >= max {
			break
		}
	}
	return out, nil
}

// routedLanes returns the pool's queues per priority: the kind's consumers
// alone, or, for a registered agent, each paired with the agent's own
// consumer of that priority, whose doorbell rings the pool's bell too.
func (n *Node) routedLanes(ctx context.Context, cfg NodeConfig, kind actors.Kind, workers int,
	self *builtinAgent, shared []*transport.TaskConsumer, bell *transport.Doorbell) ([]readyFetcher, error) {
	out := make([]readyFetcher, len(shared))
	for i, c := range shared {
		out[i] = c
	}
	if self == nil {
		return out, nil
	}
	own, err := cfg.Conn.EnsureAgentConsumers(ctx, self.id, transport.ConsumerOptions{
		Kind:       kind.Name,
		AckWait:    orDefault(cfg.AckWait, 30*time.Second),
		MaxDeliver: cfg.MaxDeliver,
		PoolSize:   workers,
	})
	if err != nil {
		return nil, err
	}
	if err := cfg.Conn.AddAgentToDoorbell(bell, self.id); err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = lane{own[i], shared[i]}
	}
	return out, nil
}

// registerAgent registers kind's pool as an agent when the node has an
// agent store.
func (n *Node) registerAgent(ctx context.Context, cfg NodeConfig, kind actors.Kind) (*builtinAgent, error) {
	if cfg.Agents == nil {
		return nil, nil
	}
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("runner: node name needed to register agents")
	}
	b, err := registerBuiltin(ctx, cfg.Agents, cfg.NodeName, kind)
	if err != nil {
		return nil, err
	}
	n.agents = append(n.agents, b)
	return b, nil
}

// startHeartbeats beats for the node's registered agents until the node
// stops (after its pools), then deletes their keys.
func (n *Node) startHeartbeats(ctx context.Context, cfg NodeConfig) {
	if len(n.agents) == 0 {
		return
	}
	bctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	agents, log := n.agents, n.log
	go func() {
		defer close(done)
		beat(bctx, cfg.Conn, agents, orDefault(cfg.HeartbeatInterval, 10*time.Second), log)
	}()
	n.stops = append(n.stops, func() { stop(); <-done })
}

// AgentIDs returns the ids of the node's registered agents, one per kind,
// in the order of NodeConfig.Kinds.
func (n *Node) AgentIDs() []string {
	ids := make([]string, len(n.agents))
	for i, a := range n.agents {
		ids[i] = a.id
	}
	return ids
}
