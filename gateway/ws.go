package gateway

// # WebSocket: live task, agent and project events
//
// GET /ws upgrades to a WebSocket that pushes events from the NATS stream
// YMERA_EVENTS. docs/websocket.md is the client's guide; this is the
// contract.
//
// Handshake. The client authenticates with the same access token as the
// HTTP API, in one of three places: an "Authorization: Bearer <token>"
// header; for browsers, which cannot set headers on a WebSocket, the
// subprotocols "ymera.v1" and "bearer.<token>" (the server echoes only
// "ymera.v1"); or a "token" query parameter. A browser's Origin must be the
// gateway's own or one of Options.CORSOrigins. Every refusal happens before
// the upgrade, as a problem: 401 without or with a bad token, 403 from an
// unlisted origin, 400 for subprotocols without ymera.v1, 426 for a plain
// GET. A connection ends (1008) when its token expires, or within a ping
// interval of its revocation (logout, a deactivated user, a revoked key).
//
// Client → server, one JSON object per text frame:
//
//	{"type":"subscribe","topic":"tasks"}                  every task of the user
//	{"type":"subscribe","topic":"task","id":"<task id>"}  one task
//	{"type":"subscribe","topic":"agents"}                 presence of the user's agents
//	{"type":"subscribe","topic":"project","id":"<id>"}    a project's events (owner only)
//	{"type":"subscribe",...,"since":<seq>}                resume after sequence seq
//	{"type":"unsubscribe","topic":...,"id":...}
//	{"type":"ping"}
//
// Server → client:
//
//	{"type":"subscribed","topic":...,"id":...,"since":<seq>}
//	{"type":"event","topic":...,"id":...,"seq":<seq>,"event":{...transport.Event}}
//	{"type":"unsubscribed","topic":...,"id":...}
//	{"type":"pong"}
//	{"type":"error","code":...,"message":...,"topic":...,"id":...}
//
// seq is the event's YMERA_EVENTS stream sequence, increasing across the
// stream. A client keeps the last seq it saw; after a disconnect it
// subscribes again with "since": that seq and receives every event after
// it that the stream still keeps (24 h, 1,000,000 events by default), then
// live ones, each once. Without since a subscription starts with the next
// event. Events of one subscription arrive in stream order; "subscribed"
// comes first. Subscribing again to the same topic and id replaces the
// subscription.
//
// Error codes: bad_request (the message is malformed; the message names the
// bad value), not_found (no such task or project, or someone else's: the
// same answer, so ids cannot be probed), rate_limited, too_many_subscriptions,
// not_subscribed, unavailable (retry later).
//
// Visibility follows the HTTP API: a user sees events of their own tasks,
// agents and projects (an event's user_id), an admin sees all. Events
// nobody owns (a task a service published without a user) are an admin's.
//
// Limits. A frame over WebSocketOptions.MaxMessageBytes closes the
// connection with 1009. Client messages are rate limited per connection;
// over the limit each gets a rate_limited error frame, and
// wsMaxRateViolations in a row close it with 1008. The server pings every
// PingInterval and drops a peer silent for two. Frames to a client wait in
// a bounded queue: a client too slow to drain it is closed with 1013 (and
// resumes with since) instead of slowing the event source or other clients.
// Server.Shutdown closes every connection with 1001.

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/contrib/websocket"
	"golang.org/x/time/rate"

	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// EventSource follows the events stream; *transport.Conn implements it.
type EventSource interface {
	// WatchEvents calls deliver with every event on filter stored after
	// sequence from.Since (0: from now on), in order, until stop is
	// called; stop returns once deliver will not be called again.
	WatchEvents(ctx context.Context, filter string, from transport.WatchFrom, deliver func(transport.EventMessage)) (stop func(), err error)
}

// WebSocketOptions configures /ws. Zero fields take the defaults below.
type WebSocketOptions struct {
	// Events is the event stream; nil leaves /ws out.
	Events EventSource
	// MaxMessageBytes caps one client frame; larger ones close the
	// connection with 1009. Default 4 KiB: client messages are small.
	MaxMessageBytes int64
	// PingInterval is how often the server pings; a peer silent for two
	// intervals is dropped. Default 20 s.
	PingInterval time.Duration
	// SendQueue is how many frames may wait for a client before it counts
	// as too slow. Default 256.
	SendQueue int
	// MessagesPerSecond and Burst rate limit client messages per
	// connection. Default 20 per second, bursts of 40.
	MessagesPerSecond float64
	Burst             int
	// MaxSubscriptions per connection. Default 32.
	MaxSubscriptions int
}

func (o WebSocketOptions) withDefaults() WebSocketOptions {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 4 << 10
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 256
	}
	if o.MessagesPerSecond <= 0 {
		o.MessagesPerSecond = 20
	}
	if o.Burst <= 0 {
		o.Burst = 40
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = 32
	}
	return o
}

// wsShutdownWait bounds how long Shutdown waits for connections to finish
// their close handshake.
const wsShutdownWait = 5 * time.Second

// projectGetter is what /ws needs of the projects store.
type projectGetter interface {
	Get(ctx context.Context, id string) (store.Project, error)
}

// wsHub owns the connections of /ws.
type wsHub struct {
	cfg      WebSocketOptions
	log      *slog.Logger
	auth     *authenticator
	origins  []string
	events   EventSource
	tasks    TaskReader
	projects projectGetter // nil: project topics answer not_found

	mu       sync.Mutex
	conns    map[*wsConn]struct{}
	shutdown bool
	live     sync.WaitGroup
}

// webSocketRoutes mounts /ws, documents it in the OpenAPI document (huma
// does not serve it) and makes Shutdown close its connections.
func (s *Server) webSocketRoutes() {
	h := &wsHub{
		cfg:     s.opts.WebSocket.withDefaults(),
		log:     s.log,
		auth:    s.newAuthenticator(),
		origins: s.opts.CORSOrigins,
		events:  s.opts.WebSocket.Events,
		tasks:   s.opts.Tasks,
		conns:   map[*wsConn]struct{}{},
	}
	if s.opts.Projects != nil {
		h.projects = s.opts.Projects
	}
	s.app.Get("/ws", h.wsHandshake, websocket.New(h.serve, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{wsSubprotocol},
		// wsHandshake has checked the origin, with the same-origin rule.
		Origins:        []string{"*"},
		RecoverHandler: h.recover,
	}))
	s.app.Hooks().OnShutdown(func() error {
		h.closeAll()
		return nil
	})
	documentWebSocket(s.api)
}

// serve runs one upgraded connection.
func (h *wsHub) serve(ws *websocket.Conn) {
	sess, ok := ws.Locals(wsLocalKey).(wsSession)
	if !ok {
		// Unreachable: the handshake sets it. Refuse rather than guess.
		_ = ws.WriteControl(websocketCloseMessage(wsCloseInternal, "no session"))
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &wsConn{
		hub: h, ws: ws.Conn, sess: sess, ctx: ctx,
		log:     h.log.With("user_id", sess.who.UserID, "remote", ws.IP()),
		send:    make(chan []byte, h.cfg.SendQueue),
		closing: make(chan struct{}),
		subs:    map[string]*wsSubscription{},
		limiter: rate.NewLimiter(rate.Limit(h.cfg.MessagesPerSecond), h.cfg.Burst),
	}
	if !h.track(c) {
		_ = ws.WriteControl(websocketCloseMessage(wsCloseGoingAway, "server shutting down"))
		return
	}
	defer h.untrack(c)
	c.run()
}

// recover keeps a bug in one connection from killing the process or
// reaching the client: logged, closed with 1011.
func (h *wsHub) recover(ws *websocket.Conn) {
	if r := recover(); r != nil {
		h.log.Error("gateway: panic in websocket connection", "panic", r)
		_ = ws.WriteControl(websocketCloseMessage(wsCloseInternal, "internal error"))
	}
}

// websocketCloseMessage is the arguments of WriteControl for a close frame.
func websocketCloseMessage(code int, text string) (int, []byte, time.Time) {
	return websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(wsWriteWait)
}

func (h *wsHub) track(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutdown {
		return false
	}
	h.conns[c] = struct{}{}
	h.live.Add(1)
	return true
}

func (h *wsHub) untrack(c *wsConn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.live.Done()
}

// closeAll closes every connection with 1001 and waits, bounded, for them
// to end; new upgrades are refused from now on.
func (h *wsHub) closeAll() {
	h.mu.Lock()
	h.shutdown = true
	for c := range h.conns {
		c.close(wsCloseGoingAway, "server shutting down")
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.live.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wsShutdownWait):
		h.log.Warn("gateway: websocket connections still open after shutdown wait")
	}
}

// documentWebSocket adds GET /ws to the OpenAPI document.
func documentWebSocket(api huma.API) {
	problem := &huma.Response{Description: "Refused before the upgrade", Content: map[string]*huma.MediaType{
		problemContentType: {Schema: api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[Problem](), true, "")},
	}}
	api.OpenAPI().AddOperation(&huma.Operation{
		OperationID: "websocket", Method: http.MethodGet, Path: "/ws", Tags: []string{"events"},
		Summary: "Live task, agent and project events over a WebSocket",
		Description: "Upgrade to a WebSocket (subprotocol ymera.v1). Authenticate with a bearer header, the " +
			"subprotocol bearer.<token> or the token query parameter. See docs/websocket.md for the messages.",
		Security: bearer,
		Responses: map[string]*huma.Response{
			"101": {Description: "Switching to the WebSocket protocol"},
			"400": problem, "401": problem, "403": problem, "426": problem,
		},
	})
}
