package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ymera/ymera/gateway"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)

	h := b.do(t, req{method: "GET", path: "/health"}).wantStatus(t, http.StatusOK).object(t)
	wantKeys(t, "health", h, "status", "timestamp", "version", "components")
	if h["status"] != "healthy" || h["version"] != "1.2.3-test" {
		t.Errorf("health %v", h)
	}
	wantTime(t, "timestamp", h["timestamp"])
	comps := h["components"].(map[string]any)
	wantKeys(t, "components", comps, "database", "nats")
	for name, c := range comps {
		c := c.(map[string]any)
		wantKeys(t, name, c, "status", "message")
		if c["status"] != "healthy" || c["message"] == "" {
			t.Errorf("%s: %v", name, c)
		}
	}
	b.do(t, req{method: "GET", path: "/readyz"}).wantStatus(t, http.StatusOK)
	b.do(t, req{method: "GET", path: "/livez"}).wantStatus(t, http.StatusOK)

	b.natsDown.Store(true)
	r := b.do(t, req{method: "GET", path: "/health"}).wantStatus(t, http.StatusServiceUnavailable)
	h = r.object(t)
	comps = h["components"].(map[string]any)
	nats, db := comps["nats"].(map[string]any), comps["database"].(map[string]any)
	if h["status"] != "unhealthy" || nats["status"] != "unhealthy" || db["status"] != "healthy" {
		t.Errorf("health with NATS down: %s", r.body)
	}
	if msg := nats["message"].(string); msg == "" || msg == "nats: no servers available for connection" {
		t.Errorf("nats message %q: want a message, not the raw error", msg)
	}
	b.do(t, req{method: "GET", path: "/readyz"}).wantStatus(t, http.StatusServiceUnavailable)
	b.do(t, req{method: "GET", path: "/livez"}).wantStatus(t, http.StatusOK)

	must(t, b.db.Close())
	h = b.do(t, req{method: "GET", path: "/health"}).wantStatus(t, http.StatusServiceUnavailable).object(t)
	if db := h["components"].(map[string]any)["database"].(map[string]any); db["status"] != "unhealthy" {
		t.Errorf("closed database reported %v", db)
	}
}

// TestHealthCheckTimeout: a check that ignores its context is cut off at
// two seconds.
func TestHealthCheckTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	b := setup(t, func(o *gateway.Options) {
		o.Checks = append(o.Checks, gateway.HealthCheck{Name: "stuck", Check: func(context.Context) error {
			<-release
			return nil
		}})
	})
	start := time.Now()
	h := b.do(t, req{method: "GET", path: "/health"}).wantStatus(t, http.StatusServiceUnavailable).object(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("health took %v", d)
	}
	stuck := h["components"].(map[string]any)["stuck"].(map[string]any)
	if stuck["status"] != "unhealthy" {
		t.Errorf("stuck check reported %v", stuck)
	}
}
