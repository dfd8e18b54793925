package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/transport"
)

// kvHeartbeats is cmd/ymera's adapter of the transport to the gateway's
// HeartbeatSink, repeated here so the test runs the real bucket.
type kvHeartbeats struct{ c *transport.Conn }

func (h kvHeartbeats) PutHeartbeat(ctx context.Context, agentID string, health actors.HealthStatus, at time.Time) error {
	return h.c.PutHeartbeat(ctx, agentID, transport.Heartbeat{Status: health, Time: at})
}

// TestHeartbeatReachesKV posts a heartbeat and reads it back from the NATS
// KV presence bucket of an embedded server.
func TestHeartbeatReachesKV(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	conn, err := transport.Connect(ctx, transport.Options{DataDir: t.TempDir()}, log)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := conn.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	must(t, conn.Setup(ctx, transport.SetupOptions{}))

	b := setup(t, func(o *gateway.Options) { o.Heartbeats = kvHeartbeats{conn} })
	token, _ := b.register(t, "kim")
	id := b.createAgent(t, token, seedAgent())
	b.do(t, req{method: "POST", path: "/agents/" + id + "/heartbeat", body: map[string]any{"status": "degraded"}, token: token}).
		wantStatus(t, http.StatusOK)

	kv, err := conn.JS().KeyValue(ctx, transport.BucketHeartbeats)
	must(t, err)
	e, err := kv.Get(ctx, id)
	if err != nil {
		t.Fatalf("heartbeat of %s not in %s: %v", id, transport.BucketHeartbeats, err)
	}
	hb, err := transport.DecodeHeartbeat(e.Value())
	must(t, err)
	if hb.AgentID != id || hb.Status != actors.Degraded || hb.Time.IsZero() {
		t.Fatalf("stored heartbeat %+v", hb)
	}
	stored := b.do(t, req{method: "GET", path: "/agents/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	// One instant in both, at the store's microsecond precision.
	if got := wantTime(t, "last_heartbeat", stored["last_heartbeat"]); !got.Equal(hb.Time.Truncate(time.Microsecond)) {
		t.Errorf("last_heartbeat %v in the store, %v in the bucket", got, hb.Time)
	}
}
