package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// wsLookupTimeout bounds the store lookup that authorizes a subscription.
const wsLookupTimeout = 5 * time.Second

// wsSubscription is one live topic of a connection.
type wsSubscription struct {
	// stop ends the event watch and returns once no more events of this
	// subscription will be enqueued.
	stop func()
}

// wsScope is what a subscription may see: the events on filter for which
// allow says yes.
type wsScope struct {
	filter string
	allow  func(transport.Event) bool
	// notBefore, when set, is when the subscription's subject began to
	// have events (a task's creation): a replay need not read the stream
	// before it.
	notBefore time.Time
}

// subscribe authorizes m, then starts (or restarts, when the client
// subscribes again to resume) the event watch and confirms with a
// subscribed frame, which the client always receives before the
// subscription's first event.
func (c *wsConn) subscribe(m clientMessage) {
	old, resubscribe := c.subs[m.key()]
	if !resubscribe && len(c.subs) >= c.hub.cfg.MaxSubscriptions {
		c.reply(serverFrame{Type: wsFrameError, Code: wsErrTooManySubs, Topic: m.Topic, ID: m.ID,
			Message: "a connection may hold at most " + strconv.Itoa(c.hub.cfg.MaxSubscriptions) + " subscriptions"})
		return
	}
	scope, werr := c.hub.authorize(c.ctx, c.sess.who, m)
	if werr != nil {
		werr.Topic, werr.ID = m.Topic, m.ID
		c.reply(werr.frame())
		return
	}
	if resubscribe {
		old.stop()
		delete(c.subs, m.key())
	}

	ready := make(chan struct{})
	deliver := func(em transport.EventMessage) {
		<-ready
		if !scope.allow(em.Event) {
			return
		}
		ev := em.Event
		b, err := json.Marshal(serverFrame{Type: wsFrameEvent, Topic: m.Topic, ID: m.ID, Seq: em.Seq, Event: &ev})
		if err != nil {
			c.log.Error("gateway: encode websocket event", "seq", em.Seq, "err", err)
			return
		}
		c.enqueue(b)
	}
	stop, err := c.hub.events.WatchEvents(c.ctx, scope.filter, transport.WatchFrom{Since: m.Since, NotBefore: scope.notBefore}, deliver)
	if err != nil {
		close(ready)
		c.log.Warn("gateway: websocket subscription failed", "topic", m.Topic, "err", err)
		c.reply(serverFrame{Type: wsFrameError, Code: wsErrUnavailable, Topic: m.Topic, ID: m.ID,
			Message: "events are unavailable; retry later"})
		return
	}
	c.subs[m.key()] = &wsSubscription{stop: stop}
	since := m.Since
	c.reply(serverFrame{Type: wsFrameSubscribed, Topic: m.Topic, ID: m.ID, Since: &since})
	close(ready)
}

// authorize decides what a subscription to m shows who. A task or project
// that does not exist and one that belongs to someone else get the same
// not_found answer, as in the HTTP API, so ids cannot be probed.
func (h *wsHub) authorize(ctx context.Context, who principal, m clientMessage) (wsScope, *wsError) {
	ownEvents := func(ev transport.Event) bool { return who.mayAccess(ev.UserID) }
	everything := func(transport.Event) bool { return true }
	notFound := &wsError{Code: wsErrNotFound, Message: "there is no " + m.Topic + " " + m.ID}

	ctx, cancel := context.WithTimeout(ctx, wsLookupTimeout)
	defer cancel()
	switch m.Topic {
	case wsTopicTasks:
		// One filter for every task; the owner check is here, per event.
		return wsScope{filter: transport.TaskEventsWildcard(), allow: ownEvents}, nil
	case wsTopicAgents:
		return wsScope{filter: transport.AgentEventsWildcard(), allow: ownEvents}, nil
	case wsTopicTask:
		t, err := h.tasks.Get(ctx, m.ID)
		if err != nil {
			return wsScope{}, h.lookupError(err, notFound)
		}
		if !who.mayAccess(t.UserID) {
			return wsScope{}, notFound
		}
		filter, err := transport.TaskEventSubject(m.ID)
		if err != nil {
			return wsScope{}, notFound
		}
		return wsScope{filter: filter, allow: everything, notBefore: t.CreatedAt}, nil
	case wsTopicProject:
		if h.projects == nil {
			return wsScope{}, notFound
		}
		p, err := h.projects.Get(ctx, m.ID)
		if err != nil {
			return wsScope{}, h.lookupError(err, notFound)
		}
		if !who.mayAccess(p.OwnerID) {
			return wsScope{}, notFound
		}
		filter, err := transport.ProjectEventSubject(m.ID)
		if err != nil {
			return wsScope{}, notFound
		}
		return wsScope{filter: filter, allow: everything}, nil
	}
	return wsScope{}, badRequest("unknown topic %s", quote(m.Topic))
}

// lookupError answers a failed ownership lookup: not found, or unavailable
// (logged; the cause never reaches the client).
func (h *wsHub) lookupError(err error, notFound *wsError) *wsError {
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	h.log.Warn("gateway: websocket subscription lookup failed", "err", err)
	return &wsError{Code: wsErrUnavailable, Message: "the subscription could not be checked; retry later"}
}
