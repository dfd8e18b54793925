package runner

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// Presence statuses the watcher writes to an agent's row.
const (
	presenceActive   = "active"
	presenceDegraded = "degraded"
	presenceOffline  = "offline"
)

// AgentStore is the part of store.Agents presence and registration use.
type AgentStore interface {
	Create(ctx context.Context, a store.Agent) error
	Get(ctx context.Context, id string) (store.Agent, error)
	List(ctx context.Context, f store.AgentFilter) ([]store.Agent, error)
	Update(ctx context.Context, id string, upd store.AgentUpdate) (store.Agent, error)
}

// PresenceSource is the heartbeat bucket's watch (transport.Conn).
type PresenceSource interface {
	WatchPresence(ctx context.Context, update func(transport.PresenceUpdate), loaded func()) error
}

// PresenceWatcher turns the heartbeat bucket into agent status. Run one per
// gateway (or serve) process. For every key it sees: a beat reporting
// degraded makes the agent degraded, a beat reporting unhealthy offline,
// any other beat active, and a key that expires (three intervals without a
// beat) or is deleted offline. It records the status and last_heartbeat in
// the agent's row and, when the status changes, publishes agent.online,
// agent.degraded or agent.offline on ymera.events.agent.<agent_id>, owned
// by the agent's owner. It also keeps the latest beat of every live agent
// for the Selector.
type PresenceWatcher struct {
	Source PresenceSource
	Agents AgentStore
	Events EventPublisher
	Logger *slog.Logger
	// Rescuer, when set, moves the selector-routed tasks of an agent whose
	// key is gone back to its kind's shared queue (rescue.go).
	Rescuer TaskRescuer

	mu     sync.RWMutex
	live   map[string]transport.Heartbeat // agent id -> latest beat
	status map[string]string              // agent id -> presence status last recorded
	known  map[string]bool                // agent id -> has a row in the store

	rescues sync.WaitGroup // rescues running, awaited by Run
}

// Run watches until ctx ends. Once the current keys are loaded, agents the
// store shows alive without a key (they expired while no watcher ran) are
// set offline.
func (w *PresenceWatcher) Run(ctx context.Context) error {
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	w.mu.Lock()
	w.live, w.status, w.known = map[string]transport.Heartbeat{}, map[string]string{}, map[string]bool{}
	w.mu.Unlock()
	err := w.Source.WatchPresence(ctx, func(u transport.PresenceUpdate) { w.apply(ctx, u) },
		func() { w.offlineStale(ctx) })
	w.rescues.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Live returns the latest beat of every agent whose key exists.
func (w *PresenceWatcher) Live() map[string]transport.Heartbeat {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make(map[string]transport.Heartbeat, len(w.live))
	for id, hb := range w.live {
		out[id] = hb
	}
	return out
}

// EachLive calls fn with the latest beat of every agent whose key exists,
// without copying them: the selector looks at them for every task.
func (w *PresenceWatcher) EachLive(fn func(id string, hb transport.Heartbeat)) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for id, hb := range w.live {
		fn(id, hb)
	}
}

// Status returns the presence status last seen for agentID ("" if none).
func (w *PresenceWatcher) Status(agentID string) string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.status[agentID]
}

func presenceOf(u transport.PresenceUpdate) string {
	switch {
	case u.Gone || u.Heartbeat.Status == actors.Unhealthy:
		return presenceOffline
	case u.Heartbeat.Status == actors.Degraded:
		return presenceDegraded
	}
	return presenceActive
}

func (w *PresenceWatcher) apply(ctx context.Context, u transport.PresenceUpdate) {
	status := presenceOf(u)
	w.mu.Lock()
	if u.Gone {
		delete(w.live, u.AgentID)
	} else {
		w.live[u.AgentID] = u.Heartbeat
	}
	prev := w.status[u.AgentID]
	w.status[u.AgentID] = status
	w.mu.Unlock()
	w.record(ctx, u, status, prev)
	if u.Gone {
		w.rescue(ctx, u.AgentID)
	}
}

// record writes the row and publishes the change. A row whose status
// already has the new meaning (an HTTP heartbeat said "busy" or "idle",
// which are active) keeps its finer word.
func (w *PresenceWatcher) record(ctx context.Context, u transport.PresenceUpdate, status, prev string) {
	a, err := w.Agents.Get(ctx, u.AgentID)
	if errors.Is(err, store.ErrNotFound) {
		// An agent that beats without a registration: presence only.
		if status != prev {
			w.publish(ctx, u.AgentID, "", status)
		}
		return
	}
	if err != nil {
		if ctx.Err() == nil { // stopping is not worth a warning
			w.Logger.WarnContext(ctx, "presence: read agent", "agent_id", u.AgentID, "error", err)
		}
		return
	}
	w.mu.Lock()
	w.known[u.AgentID] = true
	w.mu.Unlock()
	upd := store.AgentUpdate{}
	if presenceClass(a.Status) != status {
		upd.Status = &status
	}
	if !u.Gone {
		at := u.Heartbeat.Time.UTC()
		upd.LastHeartbeat = &at
	}
	if upd.Status == nil && upd.LastHeartbeat == nil {
		return
	}
	if _, err := w.Agents.Update(ctx, a.ID, upd); err != nil {
		if ctx.Err() == nil { // stopping is not worth a warning
			w.Logger.WarnContext(ctx, "presence: update agent", "agent_id", a.ID, "error", err)
		}
		return
	}
	if upd.Status != nil || (prev != "" && prev != status) {
		w.publish(ctx, a.ID, a.OwnerID, status)
	}
}

// presenceClass maps a row's status to the presence status it means.
func presenceClass(s string) string {
	switch s {
	case "active", "idle", "busy":
		return presenceActive
	case presenceDegraded:
		return presenceDegraded
	}
	return presenceOffline // offline, the seed's "inactive", anything else
}

func (w *PresenceWatcher) publish(ctx context.Context, agentID, ownerID, status string) {
	typ := transport.EventAgentOnline
	switch status {
	case presenceOffline:
		typ = transport.EventAgentOffline
	case presenceDegraded:
		typ = transport.EventAgentDegraded
	}
	publishEvent(ctx, w.Events, w.Logger, transport.Event{
		V: transport.ProtocolVersion, Type: typ, AgentID: agentID, UserID: ownerID,
		Status: status, Time: time.Now().UTC(),
	})
}

// offlineStale sets offline every agent the store shows alive whose key is
// gone.
func (w *PresenceWatcher) offlineStale(ctx context.Context) {
	for _, st := range []string{"active", "idle", "busy", presenceDegraded} {
		after := ""
		for {
			list, err := w.Agents.List(ctx, store.AgentFilter{Status: st, After: after, Limit: 100})
			if err != nil {
				w.Logger.WarnContext(ctx, "presence: list agents", "error", err)
				return
			}
			for _, a := range list {
				w.mu.RLock()
				_, alive := w.live[a.ID]
				w.mu.RUnlock()
				if !alive {
					w.apply(ctx, transport.PresenceUpdate{AgentID: a.ID, Gone: true})
				}
			}
			if len(list) < 100 {
				break
			}
			after = list[len(list)-1].ID
		}
	}
}
