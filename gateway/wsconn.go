package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"golang.org/x/time/rate"
)

// Close codes (RFC 6455 §7.4.1) this server sends. The read limit's 1009
// is sent by the websocket package itself.
const (
	wsCloseGoingAway = websocket.CloseGoingAway         // 1001: server shutting down
	wsClosePolicy    = websocket.ClosePolicyViolation   // 1008: rate-limit abuse, token expired
	wsCloseInternal  = websocket.CloseInternalServerErr // 1011: a bug; logged
	wsCloseTryAgain  = websocket.CloseTryAgainLater     // 1013: too slow; resume with since
)

// wsMaxRateViolations is how many over-limit messages in a row a client
// may send (each answered with an error frame) before it is closed (1008).
const wsMaxRateViolations = 10

// wsWriteWait bounds one write, so that a peer that stopped reading cannot
// hold a writer forever; wsCloseGrace is how long the server waits for the
// peer's answer to its close frame.
const (
	wsWriteWait  = 10 * time.Second
	wsCloseGrace = time.Second
)

// wsConn is one client connection. The handler's goroutine reads (run); one
// writer goroutine owns every write; event watches only enqueue. Nothing
// that happens on one connection waits for another.
type wsConn struct {
	hub  *wsHub
	ws   *websocket.Conn
	sess wsSession
	log  *slog.Logger
	ctx  context.Context

	// send is the bounded queue of frames to write. A full queue means the
	// client reads slower than events arrive: it is closed (1013) rather
	// than allowed to hold events in memory or slow their source.
	send chan []byte

	closeOnce sync.Once
	closing   chan struct{} // closed when the connection starts to end
	closeCode int           // 0: the peer went away; no close frame to send
	closeText string

	// deadlineMu orders read-deadline changes: once closing, only the
	// short grace deadline may be set, so a chatty peer cannot keep a
	// closing connection open.
	deadlineMu sync.Mutex

	// subs are the live subscriptions by key; touched by the reader only.
	subs    map[string]*wsSubscription
	limiter *rate.Limiter
}

// run serves the connection until either side ends it, then stops every
// subscription and waits for the writer and the credential check.
func (c *wsConn) run() {
	cfg := c.hub.cfg
	c.ws.SetReadLimit(cfg.MaxMessageBytes)
	c.extendDeadline()
	c.ws.SetPongHandler(func(string) error { c.extendDeadline(); return nil })

	// The writer and the credential check end when the connection closes.
	var helpers sync.WaitGroup
	helpers.Go(c.write)
	helpers.Go(c.recheck)
	if !c.sess.expires.IsZero() {
		t := time.AfterFunc(time.Until(c.sess.expires), func() { c.close(wsClosePolicy, "token expired") })
		defer t.Stop()
	}
	violations := 0
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.log.Debug("gateway: websocket frame over the limit", "limit", cfg.MaxMessageBytes)
			}
			break
		}
		if c.isClosing() {
			// Our close frame is on its way: keep reading, and dropping,
			// until the peer echoes it or the grace deadline passes. Closing
			// the socket with unread data in it would make the kernel reset
			// the connection, and the peer would lose the close frame and
			// its reason (1006 instead of the code we sent).
			continue
		}
		c.extendDeadline()
		if !c.limiter.Allow() {
			violations++
			if violations >= wsMaxRateViolations {
				c.close(wsClosePolicy, "message rate limit exceeded")
				continue
			}
			c.reply(serverFrame{Type: wsFrameError, Code: wsErrRateLimited,
				Message: "too many messages; slow down or the connection is closed"})
			continue
		}
		violations = 0
		if typ != websocket.TextMessage {
			c.reply(badRequest("messages must be text frames of JSON").frame())
			continue
		}
		c.handle(data)
	}
	c.close(0, "")
	for key, sub := range c.subs {
		sub.stop()
		delete(c.subs, key)
	}
	helpers.Wait()
}

// handle acts on one client message.
func (c *wsConn) handle(data []byte) {
	m, werr := decodeClientMessage(data)
	if werr != nil {
		c.reply(werr.frame())
		return
	}
	switch m.Type {
	case wsPing:
		c.reply(serverFrame{Type: wsFramePong})
	case wsSubscribe:
		c.subscribe(m)
	case wsUnsubscribe:
		sub, ok := c.subs[m.key()]
		if !ok {
			c.reply(serverFrame{Type: wsFrameError, Code: wsErrNotSubscribed, Topic: m.Topic, ID: m.ID,
				Message: "there is no subscription to " + m.Topic + " " + m.ID})
			return
		}
		sub.stop()
		delete(c.subs, m.key())
		c.reply(serverFrame{Type: wsFrameUnsubscribed, Topic: m.Topic, ID: m.ID})
	}
}

// reply enqueues a frame for the client.
func (c *wsConn) reply(f serverFrame) {
	b, err := json.Marshal(f)
	if err != nil {
		c.log.Error("gateway: encode websocket frame", "type", f.Type, "err", err)
		return
	}
	c.enqueue(b)
}

// enqueue never blocks: a client whose queue is full is closed, to resume
// later with since, so that it slows nobody but itself.
func (c *wsConn) enqueue(b []byte) {
	if c.isClosing() {
		return
	}
	select {
	case c.send <- b:
	default:
		c.log.Info("gateway: websocket client too slow; closing it", "user_id", c.sess.who.UserID)
		c.close(wsCloseTryAgain, "too slow: reconnect and resume with since")
	}
}

// close starts ending the connection, once: code 0 means the peer is gone
// (nothing to send), else the writer sends a close frame with code.
func (c *wsConn) close(code int, text string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.closing)
	})
}

// write is the connection's only writer: queued frames, pings, and the
// close frame at the end.
func (c *wsConn) write() {
	ping := time.NewTicker(c.hub.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(wsWriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close(0, "")
				c.unblockReader()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				c.close(0, "")
				c.unblockReader()
				return
			}
		case <-c.closing:
			if c.closeCode != 0 {
				c.flush()
				msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wsWriteWait))
			}
			c.unblockReader()
			return
		}
	}
}

// flush writes the frames already queued, so that a client the server
// closes still learns why (the error frames before a 1008), all within
// one wsWriteWait.
func (c *wsConn) flush() {
	_ = c.ws.SetWriteDeadline(time.Now().Add(wsWriteWait))
	for {
		select {
		case b := <-c.send:
			if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		default:
			return
		}
	}
}

// isClosing reports whether the connection has started to end.
func (c *wsConn) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// extendDeadline gives a live peer two ping intervals to send something
// (a pong at least) before it counts as dead.
func (c *wsConn) extendDeadline() {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if !c.isClosing() {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.hub.cfg.PingInterval * 2))
	}
}

// unblockReader makes a read in progress end soon: after the peer's
// answer to our close frame, or after wsCloseGrace at the latest.
func (c *wsConn) unblockReader() {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	_ = c.ws.SetReadDeadline(time.Now().Add(wsCloseGrace))
}
