package gateway

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ymera/ymera/transport"
)

// BenchmarkCheckToken measures authenticating one access token: signature
// and claims, then the two denylist reads (jti and user): in process memory,
// in the embedded NATS KV bucket, and in a watched view of that bucket (what
// the production gateway uses).
//
//	go test ./gateway/ -run '^$' -bench CheckToken
func BenchmarkCheckToken(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := transport.Connect(ctx, transport.Options{DataDir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close(context.Background())
	if err := nc.Setup(ctx, transport.SetupOptions{}); err != nil {
		b.Fatal(err)
	}
	tok, err := newTokens(AuthConfig{Secret: []byte("0123456789abcdef0123456789abcdef")}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := tok.issue("0190a000-0000-7000-8000-000000000001", "user")
	if err != nil {
		b.Fatal(err)
	}
	// The view "ymera serve" gives its gateway: the same bucket, read from
	// memory kept current by a watch.
	view := transport.NewDenylistView(nc)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- view.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for !view.Live() {
		if ctx.Err() != nil {
			b.Fatal("the denylist view did not load")
		}
		time.Sleep(time.Millisecond)
	}
	for _, c := range []struct {
		name string
		deny Denylist
	}{
		{"memory", newMemDenylist(time.Now)},
		{"nats", nc},
		{"nats-watched", view},
	} {
		a := &authenticator{tokens: tok, deny: c.deny, log: slog.New(slog.DiscardHandler)}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, p := a.checkToken(ctx, raw); p != nil {
					b.Fatal(p)
				}
			}
		})
	}
}
