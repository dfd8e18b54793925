package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/valyala/fasthttp"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/internal/procstat"
	"github.com/ymera/ymera/transport"
)

// benchRun is one run's shared state: where to submit, how many may still
// be submitted, and what was counted.
type benchRun struct {
	o        benchOptions
	client   *fasthttp.Client
	base     string
	token    string
	userID   string
	conn     *transport.Conn // in-process only
	track    *benchTracker
	next     atomic.Int64
	deadline time.Time

	accepted atomic.Int64
	errs     atomic.Int64
	firstErr sync.Once
	errText  string
}

// runBench runs one benchmark against a running gateway or an in-process
// system. The report is filled in as far as the run got, also on error.
func runBench(ctx context.Context, cfg Config, o benchOptions, getenv func(string) (string, bool), stderr io.Writer) (benchReport, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout+o.duration)
	defer cancel()
	// The machine is read first, its load average before this run adds to it.
	rep := benchReport{Machine: procstat.ReadHost("/proc"), Via: o.via, Tasks: o.tasks, Concurrency: o.concurrency, Store: "remote"}
	r := &benchRun{o: o, base: strings.TrimRight(o.url, "/")}
	r.client = newBenchClient(o.concurrency)

	var events *nats.Conn
	if r.base == "" {
		s, cleanup, err := startBenchSystem(ctx, cfg, o, getenv, stderr, &rep)
		defer cleanup()
		if err != nil {
			return rep, err
		}
		r.base = "http://" + s.addr()
		r.conn = s.conn
		events = s.conn.NC()
	}
	var err error
	if r.token, r.userID, err = benchUser(ctx, r.client, r.base); err != nil {
		return rep, err
	}
	if o.via == "nats" && r.userID == "" {
		return rep, fmt.Errorf("bench: --via nats: the gateway's register answer carried no user_id")
	}

	r.track = newBenchTracker(max(o.tasks, 1024))
	if events != nil {
		sub, err := events.Subscribe(transport.TaskEventsWildcard(), func(m *nats.Msg) {
			if id, status := benchEventFields(m.Data); actors.Status(status).Final() {
				r.track.finish(id, time.Now())
			}
		})
		if err != nil {
			return rep, err
		}
		defer sub.Unsubscribe()
	}

	stopProfile, err := startCPUProfile(o.cpuprofile)
	if err != nil {
		return rep, err
	}
	defer stopProfile()

	serverBefore := readServerMetrics(ctx, r.client, r.base)
	remote := r.conn == nil                     // in process the server is this process
	postgres := o.store == "postgres" || remote // with --url, whatever runs on this machine
	cpuBefore := readCPU(serverBefore, remote, postgres)
	start := time.Now()
	r.deadline = start.Add(o.duration)
	var wg sync.WaitGroup
	for range o.concurrency {
		if o.via == "nats" {
			wg.Go(func() { r.publishLoop(ctx) })
		} else {
			wg.Go(func() { r.httpLoop(ctx, events == nil) })
		}
	}
	wg.Wait()
	acceptedIn := time.Since(start)
	rep.Accepted = int(r.accepted.Load())
	rep.Errors = int(r.errs.Load())
	rep.FirstError = r.errText
	if o.duration > 0 {
		rep.Tasks = rep.Accepted + rep.Errors
	}
	r.track.seal(rep.Accepted)
	select {
	case <-r.track.done:
	case <-ctx.Done():
	}
	stopProfile()
	serverAfter := readServerMetrics(ctx, r.client, r.base)
	cpuAfter := readCPU(serverAfter, remote, postgres)
	rep.GroupCommit = commitsBetween(serverBefore.commits, serverAfter.commits)

	n, last, p, req := r.track.results()
	rep.CPU = cpuBetween(cpuBefore, cpuAfter, n)
	rep.RequestP50ms, rep.RequestP99ms = ms(req[0]), ms(req[2])
	rep.Completed = n
	rep.AcceptedPerSec = float64(rep.Accepted) / acceptedIn.Seconds()
	if n > 0 {
		elapsed := last.Sub(start)
		rep.Seconds = elapsed.Seconds()
		rep.CompletedPerSec = float64(n) / elapsed.Seconds()
		rep.P50ms, rep.P95ms, rep.P99ms = ms(p[0]), ms(p[1]), ms(p[2])
	}
	rep.RSSMB, rep.PeakRSSMB = rssMB(), peakRSSMB()
	if err := writeAllocProfile(o.memprofile); err != nil {
		return rep, err
	}
	if rep.Completed < rep.Accepted {
		return rep, unfinished(ctx.Err(), o.timeout, rep.Completed, rep.Accepted)
	}
	return rep, nil
}

// unfinished is the error of a run that stopped waiting with tasks still
// to complete, saying what ended the wait: its context (ctxErr) past the
// --timeout deadline, or cancelled by an interrupt.
func unfinished(ctxErr error, timeout time.Duration, completed, accepted int) error {
	why := ""
	switch {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		why = fmt.Sprintf(" before the --timeout (%s, on top of --duration)", timeout)
	case ctxErr != nil:
		why = " before the run was interrupted"
	}
	return fmt.Errorf("bench: only %d of %d accepted tasks completed%s", completed, accepted, why)
}

// startBenchSystem starts a throwaway system with the bench_noop agent on a
// temporary DATA_DIR and a fresh store, and records its start-to-ready time
// and idle RSS. cleanup closes it and removes what it made; it is safe to
// call whether or not the start succeeded.
func startBenchSystem(ctx context.Context, cfg Config, o benchOptions, getenv func(string) (string, bool), stderr io.Writer, rep *benchReport) (*system, func(), error) {
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	dir, err := os.MkdirTemp("", "ymera-bench-")
	if err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	cfg.DataDir = dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Agent.Workers = o.workers
	// One user submits and polls everything: a throwaway system measures
	// throughput, not the per-user limit.
	cfg.HTTP.RateLimit.Enabled = false
	if o.syncAlways {
		if err := useSyncAlways(&cfg, dir); err != nil {
			return nil, cleanup, err
		}
	}
	if cfg.JWT.SecretKey == "" {
		cfg.JWT.SecretKey = uuid.NewString() + uuid.NewString() // a throwaway system
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.store == "postgres" {
		dsn, version, drop, err := createBenchDatabase(ctx, benchPostgresServer(cfg, getenv))
		if err != nil {
			return nil, cleanup, err
		}
		if version != "" {
			rep.Database = "PostgreSQL " + version
		}
		undo = append(undo, func() {
			if err := drop(context.WithoutCancel(ctx)); err != nil {
				log.Warn("bench database left behind", "error", err)
			}
		})
		cfg.DB.Driver, cfg.DB.DSN = "postgres", dsn
	} else {
		cfg.DB.Driver, cfg.DB.DSN = "sqlite", filepath.Join(dir, "ymera.db")
	}

	began := time.Now()
	s, err := startSystem(ctx, cfg, log, []actors.Kind{benchNoopKind()})
	if err != nil {
		return nil, cleanup, err
	}
	rep.ReadyMS = ms(time.Since(began))
	undo = append(undo, func() { s.close(context.WithoutCancel(ctx)) })
	rep.Store = s.store.Backend()
	rep.IdleRSSMB = rssMB()
	return s, cleanup, nil
}

// claim reserves up to k submissions and returns how many were granted: 0
// when the run is over (--tasks reached, --duration passed, or ctx ended).
func (r *benchRun) claim(ctx context.Context, k int) int {
	if ctx.Err() != nil {
		return 0
	}
	if r.o.duration > 0 {
		if time.Now().After(r.deadline) {
			return 0
		}
		return k
	}
	end := r.next.Add(int64(k))
	if over := end - int64(r.o.tasks); over > 0 {
		return max(0, k-int(over))
	}
	return k
}

func (r *benchRun) failed(err error) {
	r.errs.Add(1)
	r.firstErr.Do(func() { r.errText = err.Error() })
}

// httpLoop submits tasks one request at a time. Without an event stream
// (--url) each client waits for its task before it submits the next: in
// the submission (--wait-in=post), or by polling it until final.
func (r *benchRun) httpLoop(ctx context.Context, poll bool) {
	body := benchBody(r.o.taskType)
	for r.claim(ctx, 1) == 1 {
		t0 := time.Now()
		var (
			id    string
			ended bool
			err   error
		)
		if poll && r.o.waitIn != "get" {
			id, ended, err = benchSubmitWait(ctx, r.client, r.base, r.token, body)
		} else {
			id, err = benchSubmit(ctx, r.client, r.base, r.token, body)
		}
		if err != nil {
			r.failed(err)
			continue
		}
		r.accepted.Add(1)
		r.track.submit(id, t0)
		if ended {
			r.track.finish(id, time.Now())
		} else if poll {
			// Closed loop: this connection waits for its task before the
			// next one. An open loop would leave one poller per accepted
			// task, and once the system fell behind the pollers' GETs would
			// multiply and take the capacity the tasks need; the comparison
			// with River (which is polled the same way) would then measure
			// the polling, not the queues.
			pollTask(ctx, r.client, r.base, r.token, id, r.track.finish)
		} else if r.o.closedLoop {
			r.track.wait(ctx, id) // the completion event ends the wait
		}
	}
}

// publishLoop publishes batches of tasks straight to JetStream, as a
// service that owns its task ids would; the consuming side makes their rows.
func (r *benchRun) publishLoop(ctx context.Context) {
	params := benchParams(r.o.taskType)
	for {
		n := r.claim(ctx, r.o.batch)
		if n == 0 {
			return
		}
		batch := make([]actors.Task, n)
		now := time.Now().UTC()
		for i := range batch {
			id, err := uuid.NewV7()
			if err != nil {
				r.failed(err)
				return
			}
			batch[i] = actors.Task{
				ID: id.String(), Name: "bench", Type: r.o.taskType, Parameters: params,
				Priority: actors.PriorityNormal, UserID: r.userID, CreatedAt: now,
			}
		}
		t0 := time.Now()
		for i, err := range r.conn.PublishTasks(ctx, batch) {
			if err != nil {
				r.failed(err)
				continue
			}
			r.accepted.Add(1)
			r.track.submit(batch[i].ID, t0)
		}
	}
}

// startCPUProfile starts a CPU profile into path (no-op for ""); the
// returned stop may be called more than once.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: --cpuprofile: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// writeAllocProfile writes the allocation profile (every allocation since
// the process started, and what is live after a GC) into path.
func writeAllocProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: --memprofile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("bench: --memprofile: %w", err)
	}
	return nil
}

// benchEventFields returns the task id and status of an event body. The
// bench client shares the machine it measures and sees three events per
// task, so it reads the two fields where YMERA writes them rather than
// decoding the body: the first "task_id" and "status" members are the
// top-level ones, since they come before "data" and no earlier value can
// hold them unescaped. A body where either is missing or escaped goes
// through encoding/json.
func benchEventFields(b []byte) (taskID, status string) {
	id, ok1 := plainMember(b, `"task_id":"`)
	st, ok2 := plainMember(b, `"status":"`)
	if ok1 && ok2 {
		return id, st
	}
	var ev struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
	}
	if json.Unmarshal(b, &ev) != nil {
		return "", ""
	}
	return ev.TaskID, ev.Status
}

// plainMember returns the string after the first occurrence of key (which
// ends with the value's opening quote) when it holds no escape.
func plainMember(b []byte, key string) (string, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", false
	}
	v := b[i+len(key):]
	end := bytes.IndexByte(v, '"')
	if end < 0 || bytes.IndexByte(v[:end], '\\') >= 0 {
		return "", false
	}
	return string(v[:end]), true
}
