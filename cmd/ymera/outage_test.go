package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/store/postgres/pgtest"
)

// TestPostgresOutageUnderLoad cuts the database away (through a TCP proxy
// the test controls) while a client keeps submitting, then restores it:
// readiness must turn 503 within 5 s, POST /tasks must answer 503 with
// Retry-After (never 201 for a task then lost), and after recovery every
// task answered 201 completes exactly once.
func TestPostgresOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and runs for several seconds")
	}
	t.Parallel()
	_, a, proxy, natsURL := startOutageSystem(t)
	a.signUp()

	l := startLoad(a.base, a.token, map[string]int{"sleep_ms": 50}, 20*time.Millisecond)
	time.Sleep(time.Second)

	proxy.Cut()
	cut := time.Now()
	waitReady(t, a, http.StatusServiceUnavailable, 5*time.Second)
	t.Logf("readiness 503 after %v", time.Since(cut))

	// While it is down, a submission is refused honestly.
	for range 3 {
		status, body, h := a.do(http.MethodPost, "/tasks", map[string]any{
			"name": "during outage", "task_type": "bench_noop", "parameters": map[string]int{},
		})
		if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("POST /tasks during the outage: %d, Retry-After %q: %s", status, h.Get("Retry-After"), body)
		}
	}
	// Longer than MaxDeliver (5) hand-backs would take: queued tasks must
	// wait the outage out, not be dead-lettered.
	time.Sleep(8 * time.Second)

	proxy.Restore()
	restored := time.Now()
	waitReady(t, a, http.StatusOK, 30*time.Second)
	t.Logf("ready again %v after the restore", time.Since(restored))
	time.Sleep(time.Second)
	ids := l.finish()
	t.Logf("load: %s", l)
	if l.missing > 0 {
		t.Errorf("%d answers of 503 without Retry-After", l.missing)
	}
	lost, doubled := checkAllOnce(t, a, natsURL, ids, 60*time.Second)
	t.Logf("database outage: %d accepted, %d lost, %d with two results", len(ids), lost, doubled)
	// The statements the outage failed are in the metrics.
	failed := metricSum(t, a, "ymera_group_commit_failures_total")
	t.Logf("group commit statements failed: %v", failed)
	if failed == 0 {
		t.Error("ymera_group_commit_failures_total stayed 0 through the outage")
	}
}

// metricSum is the sum of every series of the metric name in GET /metrics.
func metricSum(t *testing.T, a *apiClient, name string) float64 {
	t.Helper()
	status, body, _ := a.do(http.MethodGet, "/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	var sum float64
	for line := range strings.Lines(string(body)) {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest[strings.LastIndexByte(rest, ' ')+1:]), 64)
		if err != nil {
			t.Fatalf("GET /metrics: %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// startOutageSystem starts a system (bench_noop agents) on a fresh
// PostgreSQL database reached through a TCP proxy the test can cut, with an
// ack wait of 2 s, and returns it with its API client, the proxy and the
// URL of its embedded NATS server.
func startOutageSystem(t *testing.T) (*system, *apiClient, *tcpProxy, string) {
	t.Helper()
	dbURL, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, dbURL.Host)
	dbURL.Host = proxy.addr
	natsPort := freePort(t)
	cfg := testConfig(t, map[string]string{
		"DATABASE_URL":       dbURL.String(),
		"NATS_LISTEN":        fmt.Sprintf("127.0.0.1:%d", natsPort),
		"RATE_LIMIT_ENABLED": "false",
		"AGENT_WORKERS":      "4",
		"AGENT_ACK_WAIT":     "2s",
	})
	s, a := startTestSystem(t, cfg, benchNoopKind())
	return s, a, proxy, fmt.Sprintf("nats://127.0.0.1:%d", natsPort)
}

// waitReady polls /health/ready until it answers want, failing after d.
func waitReady(t *testing.T, a *apiClient, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		status, _, _ := a.do(http.MethodGet, "/health/ready", nil)
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/ready still %d after %v, want %d", status, d, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
