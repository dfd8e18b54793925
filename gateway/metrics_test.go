package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
)

// TestMetrics: /metrics serves the seed's three metrics, labelled by route
// pattern rather than raw path, with the runtime's tasks_total and the
// pool gauges from the same registry.
func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	tm, err := runner.NewTaskMetrics(reg)
	must(t, err)
	b := setup(t, func(o *gateway.Options) {
		o.Registry = reg
		o.PoolStats = func() []gateway.PoolStat {
			return []gateway.PoolStat{{Kind: "security", Size: 4, Busy: 1, Restarts: 2}}
		}
	})
	token, _ := b.register(t, "mia")
	b.submit(t, token, task("scan"))
	b.do(t, req{method: "GET", path: "/livez"}).wantStatus(t, http.StatusOK)
	b.do(t, req{method: "GET", path: "/tasks/0b9d5a52-6f33-4f8e-9d0e-111111111111", token: token}).wantStatus(t, http.StatusNotFound)
	b.do(t, req{method: "GET", path: "/tasks/0b9d5a52-6f33-4f8e-9d0e-222222222222", token: token}).wantStatus(t, http.StatusNotFound)
	b.do(t, req{method: "GET", path: "/scanner/probe/1"}).wantStatus(t, http.StatusNotFound)
	b.do(t, req{method: "GET", path: "/scanner/probe/2"}).wantStatus(t, http.StatusNotFound)
	tm.TaskFinished("security_scan", actors.StatusCompleted)

	resp := b.do(t, req{method: "GET", path: "/metrics"}).wantStatus(t, http.StatusOK)
	if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the Prometheus text format", ct)
	}
	text := string(resp.body)
	for _, want := range []string{
		"# TYPE http_requests_total counter",
		`http_requests_total{endpoint="/auth/register",method="POST",status="201"} 1`,
		`http_requests_total{endpoint="/tasks",method="POST",status="201"} 1`,
		`http_requests_total{endpoint="/tasks/{task_id}",method="GET",status="404"} 2`,
		`http_requests_total{endpoint="unmatched",method="GET",status="404"} 2`,
		"# TYPE http_request_duration_seconds histogram",
		`http_request_duration_seconds_bucket{endpoint="/livez",method="GET",le="0.1"}`,
		`http_request_duration_seconds_count{endpoint="/livez",method="GET"} 1`,
		"# TYPE tasks_total counter",
		`tasks_total{status="completed",type="security_scan"} 1`,
		`ymera_tasks_submitted_total{type="security_scan"} 1`,
		`ymera_pool_size{kind="security"} 4`,
		`ymera_pool_busy{kind="security"} 1`,
		`ymera_pool_restarts_total{kind="security"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "probe") || strings.Contains(text, "0b9d5a52") {
		t.Error("/metrics has raw paths in its labels")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}
