package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// healthCheckTimeout bounds each health check.
const healthCheckTimeout = 2 * time.Second

// Health states of the report and of each component.
const (
	statusHealthy   = "healthy"
	statusUnhealthy = "unhealthy"
	statusDegraded  = "degraded"
)

// componentHealth is one dependency in the report.
type componentHealth struct {
	Status  string `json:"status" enum:"healthy,unhealthy,degraded" example:"healthy"`
	Message string `json:"message" example:"database check passed"`
}

// healthReport is the seed's /health shape.
type healthReport struct {
	Status     string                     `json:"status" enum:"healthy,unhealthy,degraded" example:"healthy"`
	Timestamp  time.Time                  `json:"timestamp" example:"2024-01-16T12:00:00Z"`
	Version    string                     `json:"version" example:"1.0.0"`
	Components map[string]componentHealth `json:"components" example:"{\"database\": {\"status\": \"healthy\", \"message\": \"database check passed\"}, \"nats\": {\"status\": \"healthy\", \"message\": \"nats check passed\"}}"`
}

type healthOutput struct {
	Status int
	Body   healthReport
}

// healthResponses documents the 503 of /health and /readyz, which carries
// the report, not a problem. Each operation gets its own map: huma fills it in.
func healthResponses(api huma.API) map[string]*huma.Response {
	schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[healthReport](), true, "HealthReport")
	return map[string]*huma.Response{
		"503": {
			Description: "A dependency failed its check; the components say which",
			Content:     map[string]*huma.MediaType{"application/json": {Schema: schema}},
		},
	}
}

// handleHealth runs every check at once, each for at most
// healthCheckTimeout, and answers 200 when all pass, 503 otherwise.
func handleHealth(log *slog.Logger, checks []HealthCheck, version string, now func() time.Time) func(context.Context, *struct{}) (*healthOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		results := make([]componentHealth, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() { results[i] = runCheck(ctx, log, c) })
		}
		wg.Wait()

		out := &healthOutput{Status: http.StatusOK, Body: healthReport{
			Status:     statusHealthy,
			Timestamp:  now().UTC(),
			Version:    version,
			Components: make(map[string]componentHealth, len(checks)),
		}}
		for i, c := range checks {
			out.Body.Components[c.Name] = results[i]
			if results[i].Status != statusHealthy {
				out.Status, out.Body.Status = http.StatusServiceUnavailable, statusUnhealthy
			}
		}
		addDegraded(out, checks)
		return out, nil
	}
}

// addDegraded adds each check's degraded parts to the report. They turn a
// healthy report "degraded" but never fail it: an open circuit breaker means
// one dependency fails fast, not that this process cannot take work.
func addDegraded(out *healthOutput, checks []HealthCheck) {
	for _, c := range checks {
		if c.Degraded == nil {
			continue
		}
		for _, d := range c.Degraded() {
			out.Body.Components[d.Name] = componentHealth{Status: statusDegraded, Message: d.Message}
			if out.Body.Status == statusHealthy {
				out.Body.Status = statusDegraded
			}
		}
	}
}

// runCheck runs one check. A check that ignores its context still cannot
// hold the report past the timeout: its result is abandoned, and its
// goroutine ends when the check returns (the channel is buffered). The
// error is logged, not reported: /health is public and errors may name
// hosts.
func runCheck(ctx context.Context, log *slog.Logger, c HealthCheck) componentHealth {
	ctx, cancel := context.WithTimeout(ctx, healthCheckTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Check(ctx) }()

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		return componentHealth{Status: statusHealthy, Message: c.Name + " check passed"}
	}
	log.WarnContext(ctx, "gateway: health check failed", "request_id", requestIDFrom(ctx), "component", c.Name, "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		return componentHealth{Status: statusUnhealthy, Message: fmt.Sprintf("%s check timed out after %s", c.Name, healthCheckTimeout)}
	}
	return componentHealth{Status: statusUnhealthy, Message: c.Name + " check failed"}
}

type livezOutput struct {
	Body struct {
		Status string `json:"status" enum:"alive"`
	}
}

// handleLivez answers 200 while the process serves requests; it checks no
// dependency, so an orchestrator restarts the process only when it hangs.
func handleLivez() func(context.Context, *struct{}) (*livezOutput, error) {
	return func(context.Context, *struct{}) (*livezOutput, error) {
		out := &livezOutput{}
		out.Body.Status = "alive"
		return out, nil
	}
}
