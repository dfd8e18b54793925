package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// CORS answers: what cross-origin browsers may send and read.
const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, X-Request-ID"
	// corsExpose are the response headers a page may read besides the
	// CORS-safelisted ones: ids, pagination, rate limits.
	corsExpose = "X-Request-ID, X-Response-Time, Link, X-Next-Cursor, Location, Retry-After, " +
		"X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
	// corsMaxAge lets a browser reuse a preflight for ten minutes.
	corsMaxAge = "600"
)

// corsPolicy is the set of origins allowed to call the API from a browser.
type corsPolicy struct {
	// any is CORS_ORIGINS=["*"]: every origin, never with credentials.
	any     bool
	origins map[string]bool
}

// newCORS checks origins: "*" alone, or origins such as
// https://app.example:8443 (scheme, host and port only). Origins compare
// in lowercase, as browsers send them.
func newCORS(origins []string) (*corsPolicy, error) {
	p := &corsPolicy{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		if o == "*" {
			if len(origins) > 1 {
				return nil, fmt.Errorf("gateway: CORS origin * must stand alone, not with %d others", len(origins)-1)
			}
			p.any = true
			continue
		}
		norm := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
		u, err := url.Parse(norm)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("gateway: CORS origin %q is not scheme://host[:port]", o)
		}
		p.origins[norm] = true
	}
	return p, nil
}

// allows reports whether a page from origin may call the API.
func (p *corsPolicy) allows(origin string) bool {
	return p.any || p.origins[strings.ToLower(origin)]
}

// handler answers preflights and adds the allow headers to the responses
// of allowed origins. An origin that is not allowed gets no
// Access-Control-Allow-* header at all, so the browser keeps the response
// from the page; the request itself is served as usual, since CORS protects
// readers, not the server. Credentials (cookies) are allowed only with a
// list of origins: the API's tokens travel in the Authorization header,
// which needs no credentials mode, so "*" loses nothing by refusing them.
func (p *corsPolicy) handler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		origin := c.Get(fiber.HeaderOrigin)
		if origin == "" {
			return c.Next()
		}
		// Answers differ per origin: caches must key on it.
		c.Vary(fiber.HeaderOrigin)
		allowed := p.allows(origin)
		if c.Method() == http.MethodOptions && c.Get(fiber.HeaderAccessControlRequestMethod) != "" {
			c.Vary(fiber.HeaderAccessControlRequestMethod, fiber.HeaderAccessControlRequestHeaders)
			if allowed {
				p.allow(c, origin)
				c.Set(fiber.HeaderAccessControlAllowMethods, corsMethods)
				c.Set(fiber.HeaderAccessControlAllowHeaders, corsHeaders)
				c.Set(fiber.HeaderAccessControlMaxAge, corsMaxAge)
			}
			return c.SendStatus(http.StatusNoContent)
		}
		if allowed {
			p.allow(c, origin)
			c.Set(fiber.HeaderAccessControlExposeHeaders, corsExpose)
		}
		return c.Next()
	}
}

// allow sets the headers that let origin read the response.
func (p *corsPolicy) allow(c *fiber.Ctx, origin string) {
	if p.any {
		c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
		return
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Set(fiber.HeaderAccessControlAllowCredentials, "true")
}
