package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/transport"
)

// BenchmarkRequest measures what the gateway spends on one request of the
// two that dominate a client's task loop, POST /tasks and the polls of GET
// /tasks/{task_id}: the whole middleware chain, huma, authentication
// against a watched NATS denylist (as "ymera serve" does) and the SQLite
// store. Requests go straight to Fiber's fasthttp handler, so the figures
// leave out the network and HTTP parsing, which are not the gateway's.
//
//	go test ./gateway/ -run '^$' -bench Request -benchmem
func BenchmarkRequest(b *testing.B) {
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

	bn := setup(b, func(o *gateway.Options) {
		o.Denylist = view
		o.Logger = slog.New(slog.DiscardHandler)
	})
	token, _ := bn.register(b, "bench")
	id := bn.submit(b, token, task("benchmark"))
	body, err := json.Marshal(task("benchmark"))
	if err != nil {
		b.Fatal(err)
	}

	for _, c := range []struct {
		name, method, path string
		body               []byte
		status             int
	}{
		{"get", http.MethodGet, "/tasks/" + id, nil, http.StatusOK},
		{"submit", http.MethodPost, "/tasks", body, http.StatusCreated},
	} {
		b.Run(c.name, func(b *testing.B) {
			var req fasthttp.Request
			req.Header.SetMethod(c.method)
			req.SetRequestURI(c.path)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "application/json")
			if c.body != nil {
				req.Header.SetContentType("application/json")
				req.SetBody(c.body)
			}
			h := bn.srv.App().Handler()
			// huma sets read deadlines on the connection: give it one.
			conn, peer := net.Pipe()
			defer conn.Close()
			defer peer.Close()
			var fc fasthttp.RequestCtx
			fc.Init2(conn, discardLogger{}, false)
			for b.Loop() {
				fc.Response.Reset()
				req.CopyTo(&fc.Request)
				h(&fc)
				if got := fc.Response.StatusCode(); got != c.status {
					b.Fatalf("status %d, want %d: %s", got, c.status, fc.Response.Body())
				}
			}
		})
	}
}

// discardLogger is fasthttp's logger of the benchmark's request context.
type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
