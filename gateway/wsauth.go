package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// wsSubprotocol is the protocol this server speaks on /ws; the only
// subprotocol it ever echoes.
const wsSubprotocol = "ymera.v1"

// wsTokenProtocolPrefix marks the subprotocol that carries a browser's
// token: browsers cannot set Authorization on a WebSocket, so they offer
// "ymera.v1, bearer.<token>" instead.
const wsTokenProtocolPrefix = "bearer."

// wsLocalKey is the Fiber local through which the handshake hands the
// connection its verified identity.
const wsLocalKey = "ymera.ws.session"

// wsSession is who opened a connection and until when the token allows it.
type wsSession struct {
	who     principal
	expires time.Time // zero for a service key
	// raw is the credential, checked again while the connection lives.
	raw string
}

// wsHandshake authenticates an upgrade request before any upgrade happens,
// so that a refusal is an ordinary HTTP problem (401, 403, 400), never an
// open socket. On success it stores the session in the request's locals.
func (h *wsHub) wsHandshake(c *fiber.Ctx) error {
	if !isUpgrade(c) {
		return newProblem(http.StatusUpgradeRequired, "GET /ws must be a WebSocket upgrade request").
			withHeader("Upgrade", "websocket")
	}
	origin := c.Get(fiber.HeaderOrigin)
	if !originAllowed(origin, string(c.Request().Host()), h.origins) {
		return newProblem(http.StatusForbidden, "origin "+quote(origin)+" may not open a WebSocket here")
	}
	raw, p := wsToken(c)
	if p != nil {
		return p
	}
	// The same checks as every HTTP request: signature, claims, denylist;
	// a service key is accepted as a bearer credential, as on HTTP.
	who, p := h.check(c.UserContext(), raw)
	if p != nil {
		return p
	}
	c.Locals(wsLocalKey, wsSession{who: who, expires: who.ExpiresAt, raw: raw})
	return c.Next()
}

// check verifies a credential as every HTTP request's is: an access
// token (signature, claims, denylist) or, as on HTTP, a service key.
func (h *wsHub) check(ctx context.Context, raw string) (principal, *Problem) {
	if strings.HasPrefix(raw, serviceKeyPrefix) {
		return h.auth.checkServiceKey(ctx, raw)
	}
	return h.auth.checkToken(ctx, raw)
}

// recheck checks the connection's credential again every ping interval
// until the connection ends, and closes it (1008) once it is refused: a
// logout, a deactivated user or a revoked key ends live connections too,
// within one interval. A check that cannot be made (503: the denylist is
// unreachable) keeps the connection, so a NATS blip does not drop every
// client at once.
func (c *wsConn) recheck() {
	t := time.NewTicker(c.hub.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, wsLookupTimeout)
		_, p := c.hub.check(ctx, c.sess.raw)
		cancel()
		if p != nil && p.Status == http.StatusUnauthorized {
			c.close(wsClosePolicy, "credentials revoked")
			return
		}
	}
}

// isUpgrade reports whether c asks for a WebSocket upgrade.
func isUpgrade(c *fiber.Ctx) bool {
	return c.Method() == fiber.MethodGet &&
		strings.Contains(strings.ToLower(c.Get(fiber.HeaderConnection)), "upgrade") &&
		strings.EqualFold(c.Get(fiber.HeaderUpgrade), "websocket")
}

// wsToken finds the access token: the Authorization header, else a
// "bearer.<token>" subprotocol, else the token query parameter. A client
// that offers subprotocols must offer ymera.v1, the one the server echoes:
// browsers fail a handshake that selects none of those they offered.
func wsToken(c *fiber.Ctx) (string, *Problem) {
	var fromProtocol string
	offered := false
	for _, p := range strings.Split(c.Get(fiber.HeaderSecWebSocketProtocol), ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == wsSubprotocol:
			offered = true
		case strings.HasPrefix(p, wsTokenProtocolPrefix) && fromProtocol == "":
			fromProtocol = strings.TrimPrefix(p, wsTokenProtocolPrefix)
		}
	}
	if (fromProtocol != "" || c.Get(fiber.HeaderSecWebSocketProtocol) != "") && !offered {
		return "", newProblem(http.StatusBadRequest, "a client that offers subprotocols must offer "+wsSubprotocol)
	}
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		if tok, ok := bearerToken(h); ok {
			return strings.Clone(tok), nil
		}
	}
	if fromProtocol != "" {
		return strings.Clone(fromProtocol), nil
	}
	if q := c.Query("token"); q != "" {
		return strings.Clone(q), nil
	}
	return "", unauthorized("a WebSocket needs a bearer token: the Authorization header, "+
		"a bearer.<token> subprotocol or the token query parameter", false)
}

// originAllowed decides whether a browser page at origin may connect. No
// Origin header means no browser, hence no cross-site risk; a page of this
// very host is same-origin; anything else must be in the CORS origins list
// ("*" allows every origin).
func originAllowed(origin, host string, allowed []string) bool {
	if origin == "" {
		return true
	}
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}
