package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/ymera/ymera/transport"
)

// TestNATSOutageAtGateway runs the system against an external NATS server
// (one the test starts, on a TCP port) and shuts that server down: readiness
// must turn 503 within 5 s and POST /tasks must answer 503 with Retry-After,
// never 201 for a task that cannot be queued.
func TestNATSOutageAtGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	t.Parallel()
	natsOutageAtGateway(t, "false")
}

// TestNATSOutageAtGatewayRateLimited is the same outage with rate limiting
// on, as it is by default: the limiter counts locally and shares its counts
// with NATS only in the background, so no request waits on the dead
// server; POST /tasks still answers 503 with Retry-After within a few
// seconds, not at the client's timeout.
func TestNATSOutageAtGatewayRateLimited(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	t.Parallel()
	natsOutageAtGateway(t, "true")
}

// natsOutageAtGateway is the outage test with RATE_LIMIT_ENABLED set to
// rateLimit.
func natsOutageAtGateway(t *testing.T, rateLimit string) {
	port := freePort(t)
	srv, err := transport.Connect(t.Context(), transport.Options{
		DataDir: filepath.Join(t.TempDir(), "nats"),
		Listen:  fmt.Sprintf("127.0.0.1:%d", port),
	}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = srv.Close(context.Background())
		}
	})
	cfg := testConfig(t, map[string]string{
		"NATS_URL":           fmt.Sprintf("nats://127.0.0.1:%d", port),
		"RATE_LIMIT_ENABLED": rateLimit,
	})
	_, a := startTestSystem(t, cfg, benchNoopKind())
	a.signUp()
	id := a.submit("bench_noop", map[string]int{})
	if tv := a.waitFinal(id, 30*time.Second); tv.Status != "completed" {
		t.Fatalf("task before the outage: %s", tv.Status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
	stopped = true
	cut := time.Now()
	waitReady(t, a, http.StatusServiceUnavailable, 5*time.Second)
	t.Logf("readiness 503 after %v", time.Since(cut))

	a.c.Timeout = 15 * time.Second // far below the server's 30 s: a hang fails here
	start := time.Now()
	status, body, h := a.do(http.MethodPost, "/tasks", map[string]any{
		"name": "during outage", "task_type": "bench_noop", "parameters": map[string]int{},
	})
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("POST /tasks with NATS down: %d, Retry-After %q: %s", status, h.Get("Retry-After"), body)
	}
	t.Logf("POST /tasks answered %d in %v", status, time.Since(start))
}
