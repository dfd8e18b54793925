package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ymera/ymera/internal/benchkit"
	"github.com/ymera/ymera/internal/procstat"
)

// After the comparison (both servers stopped), compare measures the rest of
// issue 6's target table with the in-process `ymera bench` and prints each
// row against its target, so that one command says where the system stands;
// with -million (million.go) that includes the two rows that need a million
// tasks, measured once each. Beside the via-NATS row's runs, with
// -pipefloor, bench/pipefloor -via nats publishes the same tasks into the
// design's pipeline alone, on the product's schema and on a bare one: the
// row prints their medians, what that pipeline reaches on the machine that
// day. Every other measurement runs -target-runs
// times, in turn with the others (all once, then all again), so that a slow
// stretch of the shared host falls on every row rather than on one; a row
// prints the median of each figure.

// targetReport is the part of `ymera bench --json` the targets read.
type targetReport struct {
	CompletedPerSec float64 `json:"completed_per_sec"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	RequestP99ms    float64 `json:"request_p99_ms"`
	IdleRSSMB       float64 `json:"idle_rss_mb"`
	ReadyMS         float64 `json:"ready_ms"`
	Errors          int     `json:"errors"`
	CPU             cpu     `json:"cpu"`
}

// targetRun is one in-process bench run and the rows it answers.
type targetRun struct {
	args []string
	rows func(r targetReport) []targetRow
	// flood: bench/pipefloor -via nats runs beside this one (with
	// -pipefloor), on the product's schema and on a bare one, the
	// pipeline of the row with nothing around it, publishing as it does
	// (floodTasks, floodPublishers, floodBatch).
	flood bool
	// sqliteRef: the concurrency whose SQLite figures from the comparison
	// (-sqlite) this row cites; 0 for none.
	sqliteRef int
}

// The via-NATS row's run, shared by YMERA's bench and the pipeline's so
// that both publish the same tasks the same way.
const (
	floodTasks      = "50000"
	floodPublishers = "8"
	floodBatch      = "64"
)

// targetRow is one line of the table.
type targetRow struct {
	measure, target, measured string
	met                       bool
}

// printedRow is a row as printed: for a throughput row, with what a task
// cost in that run (cpu), which moves less with the host's speed than the
// rate does.
type printedRow struct {
	targetRow
	cpu string
}

func targetRuns(d time.Duration) []targetRun {
	dur := d.String()
	return []targetRun{
		{args: []string{"--store", "postgres", "--concurrency", "256", "--duration", dur}, rows: func(r targetReport) []targetRow {
			return []targetRow{{"HTTP, PostgreSQL, c=256, completed/s", "≥ 20,000", perSec(r), r.CompletedPerSec >= 20000}}
		}},
		{args: []string{"--store", "postgres", "--concurrency", "64", "--duration", dur}, rows: func(r targetReport) []targetRow {
			return []targetRow{
				{"HTTP, PostgreSQL, c=64, completed/s", "≥ 14,000", perSec(r), r.CompletedPerSec >= 14000},
				{"HTTP, PostgreSQL, c=64, POST p99", "≤ 15 ms", ms(r.RequestP99ms), r.RequestP99ms <= 15},
			}
		}},
		{args: []string{"--store", "postgres", "--via", "nats", "--tasks", floodTasks, "--concurrency", floodPublishers, "--batch", floodBatch},
			rows: func(r targetReport) []targetRow {
				return []targetRow{{"via NATS, PostgreSQL, completed/s", "≥ 35,000", perSec(r), r.CompletedPerSec >= 35000}}
			}, flood: true},
		{args: []string{"--store", "sqlite", "--concurrency", "64", "--duration", dur}, rows: func(r targetReport) []targetRow {
			return []targetRow{{"HTTP, SQLite (embedded default), c=64, completed/s", "≥ 15,000", perSec(r),
				r.CompletedPerSec >= 15000}}
		}, sqliteRef: 64},
		// One task at a time: the client waits for each task's completion
		// before it submits the next.
		{args: []string{"--store", "sqlite", "--concurrency", "1", "--tasks", "2000", "--closed-loop"}, rows: func(r targetReport) []targetRow {
			return []targetRow{
				{"one at a time, SQLite, submit → completed p50 / p99", "≤ 2 / ≤ 10 ms",
					fmt.Sprintf("%.1f / %.1f ms", r.P50ms, r.P99ms), r.P50ms <= 2 && r.P99ms <= 10},
				{"idle RSS (in process); start to ready", "≤ 80 MB; ≤ 1 s",
					fmt.Sprintf("%.0f MB; %.0f ms", r.IdleRSSMB, r.ReadyMS), r.IdleRSSMB <= 80 && r.ReadyMS <= 1000},
			}
		}},
	}
}

// printTargets measures and prints the table, citing what the comparison
// found.
func printTargets(ctx context.Context, o options, found compared) error {
	var rows []printedRow
	for _, c := range o.concurrency {
		r := found.ratios[c]
		rows = append(rows, printedRow{targetRow: targetRow{fmt.Sprintf("ours / River, c=%d (above)", c), "≥ 7×",
			fmt.Sprintf("%.2f×", r), r >= 7}})
	}
	var tidy benchkit.Settler // each run makes its own database: a CHECKPOINT only
	if o.settle {
		tidy = benchkit.Settler{Server: o.server, Name: "compare"}
	}
	runs := targetRuns(o.targetDuration)
	reports := make([][]targetReport, len(runs))
	// floods[i][k]: the pipeline's runs beside run i, on floodSchemas[k].
	floods := make([][len(floodSchemas)][]targetReport, len(runs))
	fmt.Println()
	for n := range o.targetRuns {
		for i, tr := range runs {
			tidy.Settle(ctx)
			r, err := inProcessBench(ctx, o, tr.args)
			if err != nil {
				return fmt.Errorf("targets: ymera bench %v: %w", tr.args, err)
			}
			if r.Errors > 0 {
				return fmt.Errorf("targets: ymera bench %v: %d errors", tr.args, r.Errors)
			}
			reports[i] = append(reports[i], r)
			fmt.Printf("target run %d/%d  %-62s completed %7.0f/s%s\n", n+1, o.targetRuns,
				strings.Join(tr.args, " "), r.CompletedPerSec, r.CPU)
			if !tr.flood || o.pipefloor == "" {
				continue
			}
			for k, schema := range floodSchemas {
				tidy.Settle(ctx)
				r, err := pipelineFlood(ctx, o, schema)
				if err != nil {
					return fmt.Errorf("targets: pipefloor -via nats -schema %s: %w", schema, err)
				}
				floods[i][k] = append(floods[i][k], r)
				fmt.Printf("target run %d/%d  %-62s completed %7.0f/s%s\n", n+1, o.targetRuns,
					"pipefloor -via nats -schema "+schema, r.CompletedPerSec, r.CPU)
			}
		}
	}
	for i, tr := range runs {
		r := medianReport(reports[i])
		for j, row := range tr.rows(r) {
			p := printedRow{targetRow: row}
			if c := r.CPU; j == 0 && c.ProcessUSPerTask > 0 && strings.HasSuffix(row.measured, "/s") {
				p.cpu = fmt.Sprintf("%.0f µs/task in process", c.ProcessUSPerTask)
				if c.DatabaseUSPerTask > 0 {
					p.cpu += fmt.Sprintf(", %.0f in PostgreSQL", c.DatabaseUSPerTask)
				}
				if c.MachineUSPerTask > 0 {
					p.cpu += fmt.Sprintf(", %.0f on the machine", c.MachineUSPerTask)
				}
			}
			if j == 0 && len(floods[i][0]) > 0 {
				pipe, bare := medianReport(floods[i][0]), medianReport(floods[i][1])
				p.cpu += fmt.Sprintf("; pipeline %.0f/s (%.0f µs on the machine), bare %.0f/s",
					pipe.CompletedPerSec, pipe.CPU.MachineUSPerTask, bare.CompletedPerSec)
			}
			if sq, ok := found.sqlite[tr.sqliteRef]; j == 0 && ok && sq[1] > 0 {
				p.cpu += fmt.Sprintf("; over HTTP above, pipeline %.0f/s, ymera serve %.0f/s", sq[1], sq[0])
			}
			rows = append(rows, p)
		}
	}
	if o.million {
		m, err := millionRows(ctx, o)
		if err != nil {
			return fmt.Errorf("targets: %w", err)
		}
		rows = append(rows, m...)
	}
	fmt.Println()
	if o.targetRuns == 1 {
		fmt.Println("targets (issue 6), in-process `ymera bench`, one run each:")
	} else {
		fmt.Printf("targets (issue 6), in-process `ymera bench`, medians of %d runs each, taken in turn:\n", o.targetRuns)
	}
	fmt.Printf("%-52s %-16s %-20s %s\n", "measure", "target", "measured", "")
	for _, r := range rows {
		verdict := "not met"
		if r.met {
			verdict = "met"
		}
		if r.cpu != "" {
			verdict = fmt.Sprintf("%-8s (%s)", verdict, r.cpu)
		}
		fmt.Printf("%-52s %-16s %-20s %s\n", r.measure, r.target, r.measured, verdict)
	}
	if !o.million {
		fmt.Printf("%-52s %-16s %-20s %s\n", "GET /tasks with 1,000,000 rows, p99", "≤ 20 ms", "", "-million=false; see docs/performance.md")
		fmt.Printf("%-52s %-16s %-20s %s\n", "RSS with 1,000,000 tasks queued", "≤ 300 MB", "", "-million=false; see docs/performance.md")
	}
	return nil
}

// floodSchemas are the tasks tables bench/pipefloor -via nats runs on:
// the product's, and one stripped to its primary key.
var floodSchemas = [2]string{"product", "bare"}

// pipelineFlood runs bench/pipefloor -via nats, the via-NATS row's
// pipeline with nothing around it, on a database of its own made for the
// run, publishing what the row's `ymera bench` publishes.
func pipelineFlood(ctx context.Context, o options, schema string) (targetReport, error) {
	var r targetReport
	dsn, drop, err := createDatabase(ctx, o.server, "pipefloor_flood_")
	if err != nil {
		return r, err
	}
	defer drop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := benchkit.Command(ctx, o.pipefloor, "-via", "nats", "-schema", schema, "-database", dsn,
		"-tasks", floodTasks, "-publishers", floodPublishers, "-pubbatch", floodBatch)
	cmd.Dir = os.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("pipefloor output: %w", err)
	}
	return r, nil
}

// inProcessBench runs the in-process `ymera bench` with args; a PostgreSQL
// run makes its throwaway database on the comparison's server.
func inProcessBench(ctx context.Context, o options, args []string) (targetReport, error) {
	var r targetReport
	env := append(os.Environ(), "DATABASE_URL="+o.server, "NATS_URL=", "NATS_LISTEN=")
	err := ymeraBench(ctx, o, o.targetDuration+5*time.Minute, env, &r, args...)
	return r, err
}

// medianReport is the median of each figure of rs, taken apart: the rate
// of one run may stand beside the p99 of another. Errors is the most any
// run had.
func medianReport(rs []targetReport) targetReport {
	of := func(f func(targetReport) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return benchkit.Median(v)
	}
	m := targetReport{
		CompletedPerSec: of(func(r targetReport) float64 { return r.CompletedPerSec }),
		P50ms:           of(func(r targetReport) float64 { return r.P50ms }),
		P99ms:           of(func(r targetReport) float64 { return r.P99ms }),
		RequestP99ms:    of(func(r targetReport) float64 { return r.RequestP99ms }),
		IdleRSSMB:       of(func(r targetReport) float64 { return r.IdleRSSMB }),
		ReadyMS:         of(func(r targetReport) float64 { return r.ReadyMS }),
		CPU: cpu{
			PerTask: procstat.PerTask{
				ProcessUSPerTask:  of(func(r targetReport) float64 { return r.CPU.ProcessUSPerTask }),
				DatabaseUSPerTask: of(func(r targetReport) float64 { return r.CPU.DatabaseUSPerTask }),
				MachineUSPerTask:  of(func(r targetReport) float64 { return r.CPU.MachineUSPerTask }),
				MachineBusyPct:    of(func(r targetReport) float64 { return r.CPU.MachineBusyPct }),
			},
			ServerUSPerTask: of(func(r targetReport) float64 { return r.CPU.ServerUSPerTask }),
		},
	}
	for _, r := range rs {
		m.Errors = max(m.Errors, r.Errors)
	}
	return m
}

func perSec(r targetReport) string { return strconv.FormatFloat(r.CompletedPerSec, 'f', 0, 64) + "/s" }

func ms(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " ms" }
