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

// applyGC sets the garbage collector's pace (GC_PERCENT) and the runtime's
// soft memory limit (MEMORY_LIMIT_MB), each unless the environment's GOGC
// or GOMEMLIMIT, which the runtime has applied already, says otherwise.
//
// The pace defaults to 300, not Go's 100: under load a node allocates
// ~35 KB per task, nearly all of it garbage within the task, and with the
// heap allowed to grow to four times its live part rather than two the
// collector runs half as often. Through `ymera serve` on PostgreSQL that
// took 7-17 % off the process's CPU per task (docs/performance.md, step
// 10). The memory limit bounds what that costs: the heap grows past two
// times its live part only while the process is below the limit, and an
// idle node's heap is small either way.
//
// Without a limit the runtime keeps the heap it grew for a burst (a
// million tasks published at once leave ~450 MB of JetStream caches and
// duplicate-window entries, freed within minutes) and returns the pages to
// the system only slowly; with one, it returns them within seconds.
func applyGC(cfg Config, log *slog.Logger) {
	if v := os.Getenv("GOGC"); v != "" {
		log.Debug("GOGC set; GC_PERCENT not applied", "gogc", v)
	} else if cfg.GCPercent > 0 {
		debug.SetGCPercent(cfg.GCPercent)
	}
	if cfg.MemoryLimitMB <= 0 {
		return
	}
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		log.Debug("GOMEMLIMIT set; MEMORY_LIMIT_MB not applied", "gomemlimit", v)
		return
	}
	debug.SetMemoryLimit(int64(cfg.MemoryLimitMB) << 20)
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
