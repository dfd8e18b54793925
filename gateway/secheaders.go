package gateway

import "github.com/gofiber/fiber/v2"

// Security headers sent with every response.
const (
	// apiCSP is the policy of API responses: JSON never needs to load
	// anything, so only same-origin content, no plugins, no framing. The
	// documentation pages replace it with their own, looser policy: huma's
	// /docs handler sets one naming exactly the Stoplight Elements script
	// and stylesheet it loads from unpkg.com, and /redoc sets redocCSP.
	// Both set the header after this middleware, so theirs wins.
	apiCSP = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	// hsts asks browsers to use HTTPS only, for a year. It has no effect on
	// plain HTTP (RFC 6797 §8.1), so it is harmless in development.
	hsts = "max-age=31536000; includeSubDomains"
	// permissionsPolicy turns off the powerful browser features an API
	// page never needs.
	permissionsPolicy = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
)

// securityHeaders sets the headers every response carries, before the
// handler runs, so that error responses carry them too.
func securityHeaders() fiber.Handler {
	// Names and values as bytes once: Set would copy and normalize each
	// name again on every response.
	headers := [][2][]byte{}
	for _, kv := range [][2]string{
		{fiber.HeaderXContentTypeOptions, "nosniff"},
		{fiber.HeaderXFrameOptions, "DENY"},
		{fiber.HeaderStrictTransportSecurity, hsts},
		{fiber.HeaderContentSecurityPolicy, apiCSP},
		{fiber.HeaderReferrerPolicy, "no-referrer"},
		{fiber.HeaderPermissionsPolicy, permissionsPolicy},
	} {
		headers = append(headers, [2][]byte{[]byte(kv[0]), []byte(kv[1])})
	}
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		for _, kv := range headers {
			h.SetCanonical(kv[0], kv[1])
		}
		return c.Next()
	}
}
