package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/ymera/ymera/internal/procstat"
	"github.com/ymera/ymera/runner"
)

// benchOptions are the flags of `ymera bench`.
type benchOptions struct {
	url         string
	via         string
	store       string
	tasks       int
	duration    time.Duration
	concurrency int
	batch       int
	taskType    string
	timeout     time.Duration
	json        bool
	workers     int
	cpuprofile  string
	memprofile  string
	syncAlways  bool
	closedLoop  bool
	waitIn      string
}

// benchReport is what a run measured; --json prints it as one object.
type benchReport struct {
	Via             string  `json:"via"`
	Store           string  `json:"store"`
	Tasks           int     `json:"tasks"`
	Accepted        int     `json:"accepted"`
	Completed       int     `json:"completed"`
	Errors          int     `json:"errors"`
	FirstError      string  `json:"first_error,omitempty"`
	Concurrency     int     `json:"concurrency"`
	AcceptedPerSec  float64 `json:"accepted_per_sec"`
	CompletedPerSec float64 `json:"completed_per_sec"`
	P50ms           float64 `json:"p50_ms"`
	P95ms           float64 `json:"p95_ms"`
	P99ms           float64 `json:"p99_ms"`
	// RequestP50ms and RequestP99ms are the submissions' own durations:
	// POST /tasks to its 201 (the targets' "HTTP p99"), or publish to
	// PubAck with --via nats. With --url and --wait-in=post, a POST's 201
	// comes once its task has ended, and these are close to P50ms and
	// P99ms.
	RequestP50ms float64 `json:"request_p50_ms"`
	RequestP99ms float64 `json:"request_p99_ms"`
	// RSSMB is the bench process's resident set at the end of the run; with
	// an in-process system that includes the whole system.
	RSSMB     float64 `json:"rss_mb"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	// ReadyMS and IdleRSSMB are the in-process system's start-to-ready time
	// and its resident set once ready, before any load.
	ReadyMS   float64 `json:"ready_ms,omitempty"`
	IdleRSSMB float64 `json:"idle_rss_mb,omitempty"`
	Seconds   float64 `json:"seconds"`
	// GroupCommit is what the server's group commit writers did during the
	// run, by op, read from its /metrics; absent when it has none.
	GroupCommit map[string]groupCommitStat `json:"group_commit,omitempty"`
	// CPU is what the run cost per task (benchcpu.go); absent with no task
	// completed.
	CPU *benchCPU `json:"cpu,omitempty"`
	// Machine is what the run was measured on, and how busy it was as the
	// run began.
	Machine procstat.Host `json:"machine"`
	// Database is the PostgreSQL server's version, in process with
	// --store postgres.
	Database string `json:"database,omitempty"`
}

func benchCmd(e env) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Submit tasks through the full path and report throughput and latency",
		Long: `bench submits tasks with --concurrency clients and waits for each to complete,
then reports completed tasks per second and submit-to-completed latency
percentiles. It submits --tasks tasks, or, with --duration, as many as it can
for that long and reports on those. It also reports the CPU a task cost: of
this process, of the server (with --url, from its /metrics), of PostgreSQL
when it runs on this machine (Linux: its processes in /proc; with --url,
whatever the server stores in) and of the whole machine (Linux), the
figures to compare builds by on a shared machine.

Without --url it starts a complete system in-process on a temporary DATA_DIR
(with the bench_noop agent) and a fresh store: --store sqlite (default) or
--store postgres, a throwaway database created on the server of DATABASE_URL
(else TEST_DATABASE_URL, else the local default) and dropped afterwards.
--via http submits through the gateway; --via nats publishes the tasks
straight to JetStream in batches of --batch, as a service would. It also
reports the system's start-to-ready time and idle RSS, and can write CPU and
allocation profiles of the run (--cpuprofile, --memprofile).

With --url it drives a running gateway over HTTP, and each client waits for
its task before it submits the next: in the submission itself, POST
/tasks?wait=10s (--wait-in=post, one request a task), or with GET
/tasks/{id}?wait=10s after the 201 (--wait-in=get, two). --cpuprofile and
--memprofile then profile this client, which shares the machine with the
system it measures.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			cfg, err := loadConfig(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			rep, err := runBench(cmd.Context(), cfg, o, e.getenv, e.stderr)
			switch {
			case err != nil && rep.Accepted == 0 && rep.Errors == 0:
				// The run never got under way (no gateway, no database):
				// a report of zeros would read as a measurement.
			case o.json:
				if jerr := json.NewEncoder(e.stdout).Encode(rep); jerr != nil {
					return jerr
				}
			case rep.Accepted > 0 || rep.Errors > 0:
				printBenchReport(e.stdout, rep)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "drive a running gateway at this base URL instead of an in-process system")
	f.StringVar(&o.via, "via", "http", "in-process only: submit through the gateway (http) or publish straight to JetStream (nats)")
	f.StringVar(&o.store, "store", "sqlite", "in-process only: sqlite, or postgres (a throwaway database)")
	f.IntVar(&o.tasks, "tasks", 2000, "number of tasks to submit (ignored with --duration)")
	f.DurationVar(&o.duration, "duration", 0, "submit continuously for this long instead of a fixed number of tasks")
	f.IntVar(&o.concurrency, "concurrency", 32, "concurrent HTTP clients (or NATS publishers)")
	f.IntVar(&o.batch, "batch", 64, "--via nats: tasks per publish batch")
	f.StringVar(&o.taskType, "task-type", "bench_noop", "task type to submit")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up waiting for completions after this long (on top of --duration)")
	f.BoolVar(&o.json, "json", false, "print one JSON object")
	f.IntVar(&o.workers, "bench-workers", 256, "in-process only: actors for the bench_noop kind")
	f.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file (with --url, of this client alone)")
	f.StringVar(&o.memprofile, "memprofile", "", "write an allocation profile of the run to this file (with --url, of this client alone)")
	f.BoolVar(&o.syncAlways, "sync-always", false, "in-process only: the embedded JetStream fsyncs every write (sync_interval: always)")
	f.StringVar(&o.waitIn, "wait-in", "post", "--url: where each client waits for its task: in its POST /tasks?wait= (post), or in a GET /tasks/{id}?wait= after the 201 (get)")
	f.BoolVar(&o.closedLoop, "closed-loop", false, "in-process, --via http: each client waits for its task to complete before it submits the next (--url always does)")
	addConfigFlags(f)
	return cmd
}

// validate rejects flag combinations that cannot run, naming the value.
func (o benchOptions) validate() error {
	switch {
	case o.duration == 0 && o.tasks < 1:
		return fmt.Errorf("bench: --tasks=%d: expected at least 1", o.tasks)
	case o.duration < 0:
		return fmt.Errorf("bench: --duration=%s: expected a positive duration", o.duration)
	case o.concurrency < 1:
		return fmt.Errorf("bench: --concurrency=%d: expected at least 1", o.concurrency)
	case o.batch < 1:
		return fmt.Errorf("bench: --batch=%d: expected at least 1", o.batch)
	case o.via != "http" && o.via != "nats":
		return fmt.Errorf("bench: --via=%q: expected http or nats", o.via)
	case o.store != "sqlite" && o.store != "postgres":
		return fmt.Errorf("bench: --store=%q: expected sqlite or postgres", o.store)
	case o.waitIn != "" && o.waitIn != "post" && o.waitIn != "get": // "" is post
		return fmt.Errorf("bench: --wait-in=%q: expected post or get", o.waitIn)
	}
	if o.url != "" {
		u, err := url.Parse(o.url)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return fmt.Errorf("bench: --url=%q: expected the gateway's base URL, such as http://127.0.0.1:8000", o.url)
		case o.via == "nats":
			return fmt.Errorf("bench: --via=nats needs the in-process system; drop --url=%s", o.url)
		case o.syncAlways:
			return fmt.Errorf("bench: --sync-always configures the in-process system's NATS server; drop --url=%s", o.url)
		}
	}
	if o.closedLoop && o.via == "nats" {
		return fmt.Errorf("bench: --closed-loop waits for each HTTP submission's task; drop it or --via=nats")
	}
	return nil
}

func printBenchReport(w io.Writer, rep benchReport) {
	fmt.Fprintf(w, "via %s, store %s, %d tasks, concurrency %d\n", rep.Via, rep.Store, rep.Tasks, rep.Concurrency)
	fmt.Fprintf(w, "machine    %s\n", rep.Machine)
	if rep.Database != "" {
		fmt.Fprintf(w, "database   %s\n", rep.Database)
	}
	if rep.ReadyMS > 0 {
		fmt.Fprintf(w, "ready      %.0f ms, idle rss %.1f MB\n", rep.ReadyMS, rep.IdleRSSMB)
	}
	fmt.Fprintf(w, "accepted   %d (%.0f/s)\n", rep.Accepted, rep.AcceptedPerSec)
	fmt.Fprintf(w, "completed  %d (%.0f/s) in %.2fs, errors %d\n", rep.Completed, rep.CompletedPerSec, rep.Seconds, rep.Errors)
	if rep.FirstError != "" {
		fmt.Fprintf(w, "first err  %s\n", rep.FirstError)
	}
	fmt.Fprintf(w, "latency    p50 %.2f ms, p95 %.2f ms, p99 %.2f ms (submit to completed)\n", rep.P50ms, rep.P95ms, rep.P99ms)
	fmt.Fprintf(w, "requests   p50 %.2f ms, p99 %.2f ms (submission to its acceptance)\n", rep.RequestP50ms, rep.RequestP99ms)
	if rep.RSSMB > 0 {
		fmt.Fprintf(w, "rss        %.1f MB (peak %.1f MB)\n", rep.RSSMB, rep.PeakRSSMB)
	}
	if c := rep.CPU; c != nil {
		fmt.Fprintf(w, "cpu        %.0f µs/task in this process", c.ProcessUSPerTask)
		if c.ServerUSPerTask > 0 {
			fmt.Fprintf(w, ", %.0f µs/task in the server", c.ServerUSPerTask)
		}
		if c.DatabaseUSPerTask > 0 {
			fmt.Fprintf(w, ", %.0f µs/task in PostgreSQL", c.DatabaseUSPerTask)
		}
		if c.MachineUSPerTask > 0 {
			fmt.Fprintf(w, ", %.0f µs/task on the machine (%.0f %% busy)", c.MachineUSPerTask, c.MachineBusyPct)
		}
		fmt.Fprintln(w)
	}
	for _, op := range runner.CommitOps {
		if c, ok := rep.GroupCommit[op]; ok {
			fmt.Fprintf(w, "commits    %-15s %d statements of %.1f items, %.2f ms each, %d failed\n",
				op, c.Statements, c.ItemsPerStatement, c.MsPerStatement, c.Failures)
		}
	}
}
