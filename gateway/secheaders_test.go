package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
)

// TestSecurityHeaders: every response, success or problem, carries the
// security headers; the API's policy is strict, the documentation pages
// have their own.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	want := map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
		"Referrer-Policy":           "no-referrer",
		"Permissions-Policy":        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
	}
	for _, r := range []req{
		{method: "GET", path: "/livez"},
		{method: "GET", path: "/tasks"},        // 401 problem
		{method: "GET", path: "/no/such/path"}, // 404 from Fiber
		{method: "GET", path: "/openapi.json"},
		{method: "GET", path: "/docs"},
		{method: "GET", path: "/redoc"},
	} {
		resp := b.do(t, r)
		for name, v := range want {
			if got := resp.header.Get(name); got != v {
				t.Errorf("%s %s: %s = %q, want %q", r.method, r.path, name, got, v)
			}
		}
		csp := resp.header.Get("Content-Security-Policy")
		switch r.path {
		case "/docs":
			if !strings.Contains(csp, "script-src https://unpkg.com/@stoplight/elements") || strings.Contains(csp, "default-src 'self'") {
				t.Errorf("/docs CSP %q does not let Stoplight Elements load", csp)
			}
		case "/redoc":
			if !strings.Contains(csp, "script-src https://cdn.jsdelivr.net/npm/redoc@") || !strings.Contains(csp, "worker-src blob:") {
				t.Errorf("/redoc CSP %q does not let ReDoc load", csp)
			}
		default:
			if !strings.HasPrefix(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s CSP %q, want the strict API policy", r.path, csp)
			}
		}
	}
}

// TestRedoc: /redoc is an HTML page rendering /openapi.json.
func TestRedoc(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp := b.do(t, req{method: "GET", path: "/redoc"}).wantStatus(t, http.StatusOK)
	if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	if !strings.Contains(string(resp.body), `spec-url="/openapi.json"`) {
		t.Errorf("page does not point at /openapi.json:\n%s", resp.body)
	}
}

// blockingSubmitter waits for its context, like a store that never answers.
type blockingSubmitter struct{}

func (blockingSubmitter) Submit(ctx context.Context, _ actors.Task) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestRequestTimeout: a handler still working when the request timeout
// ends has its context cancelled, and the client gets a 504 problem, not
// the 503 the handler made of the cancellation.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	// Long enough that the quick request below stays well inside it on a
	// loaded machine under the race detector (50 ms once was not).
	b := setup(t, func(o *gateway.Options) {
		o.RequestTimeout = 2 * time.Second
		o.Submitter = blockingSubmitter{}
	})
	token, _ := b.register(t, "slow")
	p := b.do(t, req{method: "POST", path: "/tasks", token: token, body: task("never")}).
		problem(t, http.StatusGatewayTimeout, gateway.ProblemTimeout)
	if d, _ := p["detail"].(string); !strings.Contains(d, "2s") {
		t.Errorf("detail %q does not name the timeout", d)
	}
	// Quick requests are untouched.
	b.do(t, req{method: "GET", path: "/tasks", token: token}).wantStatus(t, http.StatusOK)
}

// TestHealthAliases: /health/live and /health/ready answer as /livez and
// /readyz; /health/ready is 503 while NATS or the database is down.
func TestHealthAliases(t *testing.T) {
	t.Parallel()
	b := setup(t)
	live := b.do(t, req{method: "GET", path: "/health/live"}).wantStatus(t, http.StatusOK).object(t)
	if live["status"] != "alive" {
		t.Errorf("/health/live = %v", live)
	}
	b.do(t, req{method: "GET", path: "/health/ready"}).wantStatus(t, http.StatusOK)

	b.natsDown.Store(true)
	rep := b.do(t, req{method: "GET", path: "/health/ready"}).wantStatus(t, http.StatusServiceUnavailable).object(t)
	if c, _ := rep["components"].(map[string]any)["nats"].(map[string]any); c["status"] != "unhealthy" {
		t.Errorf("components.nats = %v, want unhealthy", c)
	}
	b.do(t, req{method: "GET", path: "/health/live"}).wantStatus(t, http.StatusOK)
	b.natsDown.Store(false)
	b.do(t, req{method: "GET", path: "/health/ready"}).wantStatus(t, http.StatusOK)

	must(t, b.db.Close())
	rep = b.do(t, req{method: "GET", path: "/health/ready"}).wantStatus(t, http.StatusServiceUnavailable).object(t)
	if c, _ := rep["components"].(map[string]any)["database"].(map[string]any); c["status"] != "unhealthy" {
		t.Errorf("components.database = %v, want unhealthy", c)
	}
}
