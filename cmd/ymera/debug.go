package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"
)

// applyMemoryLimit sets the runtime's soft memory limit from
// MEMORY_LIMIT_MB unless GOMEMLIMIT is set, which the runtime has applied
// already. Without a limit the runtime keeps the heap it grew for a burst
// (a million tasks published at once leave ~450 MB of JetStream caches and
// duplicate-window entries, freed within minutes) and returns the pages to
// the system only slowly; with one, it returns them within seconds.
func applyMemoryLimit(mb int, log *slog.Logger) {
	if mb <= 0 {
		return
	}
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		log.Debug("GOMEMLIMIT set; MEMORY_LIMIT_MB not applied", "gomemlimit", v)
		return
	}
	debug.SetMemoryLimit(int64(mb) << 20)
}

// debugServer serves Go's runtime profiles (net/http/pprof) on DEBUG_ADDR,
// for an operator who needs to see where a running process spends its CPU
// or holds its memory: `go tool pprof http://ADDR/debug/pprof/heap`. It is
// off unless configured, and meant for a loopback address: the profiles
// show internals and cost CPU to take, and the listener has no
// authentication.
type debugServer struct {
	srv  *http.Server
	done chan struct{}
}

// startDebug listens on addr and serves the profiles until stop.
func startDebug(addr string, log *slog.Logger) (*debugServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("DEBUG_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d := &debugServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug server stopped", "error", err)
		}
	}()
	log.Info("serving runtime profiles", "addr", ln.Addr().String(), "path", "/debug/pprof/")
	return d, nil
}

func (d *debugServer) stop(ctx context.Context) {
	if d == nil {
		return
	}
	_ = d.srv.Shutdown(ctx)
	<-d.done
}
