package gateway_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ymera/ymera/gateway"
)

// TestHealthDegraded: open circuit breakers show as degraded components; the
// report says degraded and the status stays 200, readiness included.
func TestHealthDegraded(t *testing.T) {
	t.Parallel()
	var open []gateway.Degradation
	b := setup(t, func(o *gateway.Options) {
		o.Checks = append(o.Checks, gateway.HealthCheck{
			Name:     "circuit_breakers",
			Check:    func(context.Context) error { return nil },
			Degraded: func() []gateway.Degradation { return open },
		})
	})
	h := b.do(t, req{method: "GET", path: "/health"}).wantStatus(t, http.StatusOK).object(t)
	if h["status"] != "healthy" {
		t.Fatalf("no open breaker: %v", h)
	}
	open = []gateway.Degradation{{Name: "circuit_breaker:agent:callee_job", Message: "circuit breaker open"}}
	h = b.do(t, req{method: "GET", path: "/health"}).wantStatus(t, http.StatusOK).object(t)
	c, _ := h["components"].(map[string]any)["circuit_breaker:agent:callee_job"].(map[string]any)
	if h["status"] != "degraded" || c["status"] != "degraded" || c["message"] != "circuit breaker open" {
		t.Errorf("open breaker: %v", h)
	}
	b.do(t, req{method: "GET", path: "/health/ready"}).wantStatus(t, http.StatusOK)
}
