package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// EventAgentDegraded is the presence event of an agent that still beats
// but reports itself degraded. EventAgentOnline and EventAgentOffline are
// the other two presence changes.
const EventAgentDegraded = "agent.degraded"

// PresenceUpdate is one change in ymera_heartbeats as a watcher sees it.
type PresenceUpdate struct {
	// AgentID is the key.
	AgentID string
	// Gone is true when the key expired (its TTL passed without a beat:
	// the server leaves a marker) or was deleted (an agent signing off).
	Gone bool
	// Heartbeat is the beat stored, when not Gone.
	Heartbeat Heartbeat
}

// WatchPresence calls update for every current heartbeat key, then loaded
// once (when not nil), then for every change, until ctx ends; it returns
// ctx's error then, or the error that ended the watch. A value that does
// not decode is skipped. update runs on the watch's goroutine, one call at
// a time.
func (c *Conn) WatchPresence(ctx context.Context, update func(PresenceUpdate), loaded func()) error {
	kv, err := c.bucket(ctx, BucketHeartbeats)
	if err != nil {
		return wrap("watch presence", err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return wrap("watch presence", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("transport: watch presence: %w: watcher closed", ErrUnavailable)
			}
			if e == nil {
				if loaded != nil {
					loaded()
					loaded = nil
				}
				continue
			}
			if u, ok := c.presenceOf(e); ok {
				update(u)
			}
		}
	}
}

func (c *Conn) presenceOf(e jetstream.KeyValueEntry) (PresenceUpdate, bool) {
	u := PresenceUpdate{AgentID: e.Key()}
	switch e.Operation() {
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		u.Gone = true
		return u, true
	}
	hb, err := DecodeHeartbeat(e.Value())
	if err != nil {
		c.logger.Warn("ignoring undecodable heartbeat", "agent_id", e.Key(), "err", err)
		return u, false
	}
	hb.AgentID = e.Key() // the key is the identity, whatever the body says
	u.Heartbeat = hb
	return u, true
}

// DeleteHeartbeat removes agentID's key, so that watchers see it offline at
// once instead of after the TTL: what an agent does when it stops cleanly.
func (c *Conn) DeleteHeartbeat(ctx context.Context, agentID string) error {
	if err := checkAgentID(agentID); err != nil {
		return err
	}
	kv, err := c.bucket(ctx, BucketHeartbeats)
	if err != nil {
		return wrap("delete heartbeat of "+agentID, err)
	}
	if err := kv.Delete(ctx, agentID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return wrap("delete heartbeat of "+agentID, err)
	}
	return nil
}

// EnsureAgentConsumers declares the four durable consumers of the tasks
// routed to one agent (direct_<agent_id>_<priority>, filtered on
// ymera.tasks.*.<priority>.<agent_id>), in actors.Priorities order. They
// never overlap the kinds' consumers, whose filters have one token less.
// opts.Kind names the agent's kind in the description (empty for an
// external agent); opts.TaskTypes and opts.Priority are ignored, the other
// options apply as for EnsureConsumer.
func (c *Conn) EnsureAgentConsumers(ctx context.Context, agentID string, opts ConsumerOptions) ([]*TaskConsumer, error) {
	if err := checkAgentID(agentID); err != nil {
		return nil, err
	}
	kind := opts.Kind
	if kind == "" {
		kind = "external"
	}
	out := make([]*TaskConsumer, 0, len(actors.Priorities))
	for _, p := range actors.Priorities {
		o := opts
		o.Kind, o.Priority, o.TaskTypes = kind, p, []string{"routed"}
		o = o.withDefaults()
		cfg, err := consumerConfig(o)
		if err != nil {
			return nil, err
		}
		if cfg.Durable, err = AgentConsumerName(agentID, p); err != nil {
			return nil, err
		}
		f, err := AgentTaskFilter(agentID, p)
		if err != nil {
			return nil, err
		}
		cfg.FilterSubjects = []string{f}
		cfg.Description = "YMERA tasks routed to agent " + agentID + " (" + kind + ")"
		cons, err := c.js.CreateOrUpdateConsumer(ctx, StreamTasks, cfg)
		if err != nil {
			return nil, wrap("consumer "+cfg.Durable, err)
		}
		out = append(out, &TaskConsumer{cons: cons, name: cfg.Durable, fetchWait: o.FetchWait, backOff: cfg.BackOff, c: c})
	}
	return out, nil
}

// AddAgentToDoorbell makes d ring also for the tasks routed to agentID,
// so one idle pool waits on its kind's tasks and its own at once.
func (c *Conn) AddAgentToDoorbell(d *Doorbell, agentID string) error {
	f, err := AgentDoorbellFilter(agentID)
	if err != nil {
		return err
	}
	sub, err := c.nc.Subscribe(f, d.ring)
	if err != nil {
		return wrap("doorbell "+f, err)
	}
	d.subs = append(d.subs, sub)
	return nil
}
