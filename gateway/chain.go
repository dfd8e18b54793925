package gateway

import (
	"cmp"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// chain is the middleware New builds from Options, in the order
// useMiddleware installs it.
type chain struct {
	metrics         fiber.Handler
	timeout         fiber.Handler
	securityHeaders fiber.Handler
	rateLimit       fiber.Handler
	cors            fiber.Handler
	// loginLimit runs on POST /auth/login only, after the chain.
	loginLimit fiber.Handler
}

// passThrough stands in for a step that Options turned off.
func passThrough(c *fiber.Ctx) error { return c.Next() }

// buildChain makes the middleware of s.opts and the server's metric
// registry, and starts the rate limiter's background sync (Shutdown stops
// it). It runs before the routes are registered.
func (s *Server) buildChain() (chain, error) {
	o := s.opts
	s.registry = o.Registry
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	hm, err := s.setupMetrics(s.registry, o.PoolStats)
	if err != nil {
		return chain{}, err
	}
	cors, err := newCORS(o.CORSOrigins)
	if err != nil {
		return chain{}, err
	}
	c := chain{
		metrics:         hm.middleware(),
		timeout:         requestTimeout(cmp.Or(o.RequestTimeout, defaultRequestTimeout)),
		securityHeaders: securityHeaders(),
		rateLimit:       passThrough,
		cors:            cors.handler(),
		loginLimit:      passThrough,
	}
	if o.RateLimit.Enabled {
		l, err := newRateLimiter(o.RateLimit, s.tokens, s.now, s.log)
		if err != nil {
			return chain{}, err
		}
		s.limiter = l
		c.rateLimit, c.loginLimit = l.limitRequests(), l.limitLogins()
	}
	return c, nil
}
