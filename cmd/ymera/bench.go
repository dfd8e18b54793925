package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// benchOptions are the flags of `ymera bench`.
type benchOptions struct {
	url         string
	tasks       int
	concurrency int
	taskType    string
	timeout     time.Duration
	json        bool
	workers     int
}

// benchReport is what a run measured; --json prints it as one object.
type benchReport struct {
	Via             string  `json:"via"`
	Store           string  `json:"store"`
	Tasks           int     `json:"tasks"`
	Accepted        int     `json:"accepted"`
	Completed       int     `json:"completed"`
	Errors          int     `json:"errors"`
	Concurrency     int     `json:"concurrency"`
	AcceptedPerSec  float64 `json:"accepted_per_sec"`
	CompletedPerSec float64 `json:"completed_per_sec"`
	P50ms           float64 `json:"p50_ms"`
	P95ms           float64 `json:"p95_ms"`
	P99ms           float64 `json:"p99_ms"`
	RSSMB           float64 `json:"rss_mb"`
	Seconds         float64 `json:"seconds"`
}

func benchCmd(e env) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Submit tasks through the full path and report throughput and latency",
		Long: `bench submits --tasks tasks over HTTP with --concurrency clients and waits for
each to complete, then reports completed tasks per second and submit-to-completed
latency percentiles. Without --url it starts a complete system in-process on a
temporary DATA_DIR (with the bench_noop agent); with --url it drives a running
gateway and polls each task.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.tasks < 1 {
				return fmt.Errorf("bench: --tasks=%d: expected at least 1", o.tasks)
			}
			if o.concurrency < 1 {
				return fmt.Errorf("bench: --concurrency=%d: expected at least 1", o.concurrency)
			}
			cfg, err := loadConfig(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			rep, err := runBench(cmd.Context(), cfg, o, e.stderr)
			if err != nil {
				return err
			}
			if o.json {
				return json.NewEncoder(e.stdout).Encode(rep)
			}
			fmt.Fprintf(e.stdout, "via %s, store %s, %d tasks, concurrency %d\n", rep.Via, rep.Store, rep.Tasks, rep.Concurrency)
			fmt.Fprintf(e.stdout, "accepted   %d (%.0f/s)\n", rep.Accepted, rep.AcceptedPerSec)
			fmt.Fprintf(e.stdout, "completed  %d (%.0f/s) in %.2fs, errors %d\n", rep.Completed, rep.CompletedPerSec, rep.Seconds, rep.Errors)
			fmt.Fprintf(e.stdout, "latency    p50 %.2f ms, p95 %.2f ms, p99 %.2f ms (submit to completed)\n", rep.P50ms, rep.P95ms, rep.P99ms)
			if rep.RSSMB > 0 {
				fmt.Fprintf(e.stdout, "rss        %.1f MB\n", rep.RSSMB)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "drive a running gateway at this base URL instead of an in-process system")
	f.IntVar(&o.tasks, "tasks", 2000, "number of tasks to submit")
	f.IntVar(&o.concurrency, "concurrency", 32, "concurrent HTTP clients")
	f.StringVar(&o.taskType, "task-type", "bench_noop", "task type to submit")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up waiting for completions after this long")
	f.BoolVar(&o.json, "json", false, "print one JSON object")
	f.IntVar(&o.workers, "bench-workers", 64, "in-process only: actors for the bench_noop kind")
	addConfigFlags(f)
	return cmd
}

// runBench runs one benchmark against a running gateway or an in-process system.
func runBench(ctx context.Context, cfg Config, o benchOptions, stderr io.Writer) (benchReport, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep := benchReport{Via: "http", Tasks: o.tasks, Concurrency: o.concurrency, Store: "remote"}

	base := strings.TrimRight(o.url, "/")
	var events *nats.Conn
	if base == "" {
		dir, err := os.MkdirTemp("", "ymera-bench-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
		if cfg.DB.Driver == "sqlite" {
			cfg.DB.DSN = filepath.Join(dir, "ymera.db")
		}
		cfg.HTTP.Addr = "127.0.0.1:0"
		cfg.Agent.Workers = o.workers
		// One user submits and polls everything: a throwaway system measures
		// throughput, not the per-user limit.
		cfg.HTTP.RateLimit.Enabled = false
		if cfg.JWT.SecretKey == "" {
			cfg.JWT.SecretKey = uuid.NewString() + uuid.NewString() // a throwaway system
		}
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		s, err := startSystem(ctx, cfg, log, []actors.Kind{benchNoopKind()})
		if err != nil {
			return rep, err
		}
		defer s.close(context.WithoutCancel(ctx))
		base = "http://" + s.addr()
		rep.Store = s.store.Backend()
		events = s.conn.NC()
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: o.concurrency * 2, MaxIdleConnsPerHost: o.concurrency * 2, IdleConnTimeout: time.Minute,
	}}
	token, err := benchUser(ctx, client, base)
	if err != nil {
		return rep, err
	}

	var (
		mu        sync.Mutex
		submitted = make(map[string]time.Time, o.tasks)
		latencies = make([]time.Duration, 0, o.tasks)
		lastDone  time.Time
		doneAll   = make(chan struct{})
		closeOnce sync.Once
		errCount  atomic.Int64
	)
	complete := func(id string, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		start, ok := submitted[id]
		if !ok {
			return
		}
		delete(submitted, id)
		latencies = append(latencies, at.Sub(start))
		lastDone = at
		if len(latencies) == o.tasks {
			closeOnce.Do(func() { close(doneAll) })
		}
	}
	// Early completions (an event before the 201 arrives) wait here.
	early := make(map[string]time.Time)

	if events != nil {
		sub, err := events.Subscribe(transport.TaskEventsWildcard(), func(m *nats.Msg) {
			var ev transport.Event
			if json.Unmarshal(m.Data, &ev) != nil || !actors.Status(ev.Status).Final() {
				return
			}
			now := time.Now()
			mu.Lock()
			_, ok := submitted[ev.TaskID]
			if !ok {
				early[ev.TaskID] = now
			}
			mu.Unlock()
			if ok {
				complete(ev.TaskID, now)
			}
		})
		if err != nil {
			return rep, err
		}
		defer sub.Unsubscribe()
	}

	body := benchBody(o.taskType)
	var next atomic.Int64
	var accepted atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(o.tasks) && ctx.Err() == nil {
				t0 := time.Now()
				id, err := benchSubmit(ctx, client, base, token, body)
				if err != nil {
					errCount.Add(1)
					continue
				}
				accepted.Add(1)
				mu.Lock()
				submitted[id] = t0
				at, wasEarly := early[id]
				delete(early, id)
				mu.Unlock()
				if wasEarly {
					complete(id, at)
				} else if events == nil {
					wg.Go(func() { pollTask(ctx, client, base, token, id, complete) })
				}
			}
		})
	}
	wg.Wait()
	acceptedAt := time.Since(start)
	rep.Accepted = int(accepted.Load())
	if int(accepted.Load()) < o.tasks {
		// Some submissions failed: do not wait for tasks that never existed.
		mu.Lock()
		if len(latencies) == rep.Accepted {
			closeOnce.Do(func() { close(doneAll) })
		}
		o.tasks = rep.Accepted
		mu.Unlock()
	}
	select {
	case <-doneAll:
	case <-ctx.Done():
	}

	mu.Lock()
	defer mu.Unlock()
	rep.Errors = int(errCount.Load())
	rep.Completed = len(latencies)
	rep.AcceptedPerSec = float64(rep.Accepted) / acceptedAt.Seconds()
	if rep.Completed > 0 {
		elapsed := lastDone.Sub(start)
		rep.Seconds = elapsed.Seconds()
		rep.CompletedPerSec = float64(rep.Completed) / elapsed.Seconds()
		slices.Sort(latencies)
		rep.P50ms = ms(percentile(latencies, 0.50))
		rep.P95ms = ms(percentile(latencies, 0.95))
		rep.P99ms = ms(percentile(latencies, 0.99))
	}
	rep.RSSMB = rssMB()
	if rep.Completed < rep.Accepted {
		return rep, fmt.Errorf("bench: only %d of %d accepted tasks completed before the timeout", rep.Completed, rep.Accepted)
	}
	return rep, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchBody is the request every bench submission sends.
func benchBody(taskType string) []byte {
	params := map[string]any{}
	if taskType != "bench_noop" {
		params["files"] = []map[string]string{{"path": "main.py", "content": "import os\nprint(os.getenv('HOME'))\n"}}
	}
	b, _ := json.Marshal(map[string]any{"name": "bench", "task_type": taskType, "parameters": params})
	return b
}

// benchUser registers a throwaway user and returns its token.
func benchUser(ctx context.Context, c *http.Client, base string) (string, error) {
	name := "bench_" + strings.ReplaceAll(uuid.NewString()[:12], "-", "")
	body, _ := json.Marshal(map[string]string{
		"username": name, "email": name + "@bench.invalid", "password": "bench-" + uuid.NewString(),
	})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := doJSON(ctx, c, http.MethodPost, base+"/auth/register", "", body, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("bench: register: %w", err)
	}
	return out.AccessToken, nil
}

func benchSubmit(ctx context.Context, c *http.Client, base, token string, body []byte) (string, error) {
	var out struct {
		TaskID string `json:"task_id"`
	}
	if err := doJSON(ctx, c, http.MethodPost, base+"/tasks", token, body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	return out.TaskID, nil
}

// pollTask waits for a task to become final when no event stream is at hand.
func pollTask(ctx context.Context, c *http.Client, base, token, id string, done func(string, time.Time)) {
	delay := 2 * time.Millisecond
	for ctx.Err() == nil {
		var t struct {
			Status string `json:"status"`
		}
		if err := doJSON(ctx, c, http.MethodGet, base+"/tasks/"+id, token, nil, http.StatusOK, &t); err == nil &&
			actors.Status(t.Status).Final() {
			done(id, time.Now())
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
}

func doJSON(ctx context.Context, c *http.Client, method, url, token string, body []byte, want int, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// rssMB reads this process's resident set size (Linux), or 0 elsewhere.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
