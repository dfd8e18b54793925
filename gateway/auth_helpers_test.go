package gateway_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/transport"
)

// natsDenylist starts an embedded NATS server with the YMERA buckets and
// returns its connection, the production Denylist.
func natsDenylist(t testing.TB) *transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := transport.Connect(ctx, transport.Options{DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("nats: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	if err := c.Setup(ctx, transport.SetupOptions{}); err != nil {
		t.Fatalf("nats setup: %v", err)
	}
	return c
}

// withNATSDenylist makes the gateway keep revocations in NATS: d is the
// connection or a view of it.
func withNATSDenylist(d gateway.Denylist) func(*gateway.Options) {
	return func(o *gateway.Options) { o.Denylist = d }
}

// watchedDenylist returns a view of c's denylist, as "ymera serve" gives its
// gateway, running until the test ends and loaded.
func watchedDenylist(t testing.TB, c *transport.Conn) *transport.DenylistView {
	t.Helper()
	v := transport.NewDenylistView(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("denylist view: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !v.Live() {
		if time.Now().After(deadline) {
			t.Fatal("the denylist view did not load")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return v
}

// clock is a test clock that only moves when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock on, e.g. past the second of a revocation.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// withClock makes the gateway read time from c.
func withClock(c *clock) func(*gateway.Options) {
	return func(o *gateway.Options) { o.Now = c.Now }
}

// decodeJSON decodes body into v or fails the test.
func decodeJSON(t testing.TB, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}
