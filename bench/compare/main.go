// Command compare runs `make bench-compare`: YMERA (`ymera serve` on
// PostgreSQL) and the River server of bench/river side by side, each a
// process of its own on a free port with a fresh database on the same
// PostgreSQL server, driven alternately by `ymera bench --url` at each
// concurrency for several rounds. It prints the median of each side and the
// ratio ours/River, then stops both servers and drops both databases.
//
// Alternating, rather than running one side's rounds back to back, spreads
// whatever else the machine is doing over both sides.
//
// After the rounds it drives bench/httpfloor (unless -floor is empty), a
// server that answers the same requests and does nothing else, once at
// each concurrency: the floor column is what the machine allows any
// server of this shape with this client, the top of the scale both sides
// are read against. bench/pipefloor (unless -pipefloor is empty), the
// pipeline of DESIGN.md "Speed" with none of the product around it, on a
// database of its own on the same server, takes its turn in every round
// beside the two sides: the pipeline column is what that pipeline itself
// reaches on the machine that day, and ours/pipe the share of it the
// product keeps. The same pipeline on a tasks table stripped to its
// primary key (-schema bare, a third database) takes its turn too: the
// bare column is the most this machine gives the design's pipeline with
// any schema, the ceiling of the throughput rows that day. With -sqlite,
// two more sides take their turns: `ymera serve` on its embedded default
// (a SQLite file in a directory of its own) and bench/pipefloor -store
// sqlite, the same pipeline on a SQLite file written through YMERA's own
// store; a second table prints them, the reference of the SQLite row.
//
// Then (unless -targets=false) it measures the rest of issue 6's target table
// in process and prints every row against its target (targets.go).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/internal/benchkit"
	"github.com/ymera/ymera/internal/procstat"
)

type options struct {
	ymera       string
	river       string
	floor       string // bench/httpfloor's binary; empty skips the floor runs
	pipefloor   string // bench/pipefloor's binary; empty skips the pipeline runs
	server      string
	rounds      int
	concurrency []int
	duration    time.Duration
	workers     int
	// waitIn is ymera bench's --wait-in: where each client waits for its
	// task, in its POST or in a GET after it.
	waitIn string
	// targets: measure the target table after the comparison, each
	// throughput run lasting targetDuration, every run targetRuns times.
	targets        bool
	targetDuration time.Duration
	targetRuns     int
	// million: then the two target rows that need a million tasks
	// (million.go), with these helpers.
	million              bool
	listtasks, natsflood string
	// settle: VACUUM both databases and CHECKPOINT the server before each
	// run (benchkit.Settler).
	settle bool
	// sqlite: also YMERA and the pipeline on SQLite (with -pipefloor).
	sqlite bool
}

// compared is what the comparison found that the target table cites.
type compared struct {
	// ratios is ours/River of the median completed/s, per concurrency.
	ratios map[int]float64
	// sqlite is, per concurrency, the median completed/s of YMERA and of
	// the pipeline on SQLite (-sqlite); empty without them.
	sqlite map[int][2]float64
}

func main() {
	var o options
	var conc string
	flag.StringVar(&o.ymera, "ymera", "bin/ymera", "the ymera binary")
	flag.StringVar(&o.river, "river", "bin/river-bench", "the River server binary (bench/river)")
	flag.StringVar(&o.floor, "floor", "bin/httpfloor", "the bench/httpfloor binary; empty skips the floor runs")
	flag.StringVar(&o.pipefloor, "pipefloor", "bin/pipefloor", "the bench/pipefloor binary (the design's pipeline with nothing around it); empty skips both pipeline sides")
	flag.StringVar(&o.server, "server", serverDefault(), "PostgreSQL server; both databases are created on it and dropped")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each runs every side (YMERA, River and, with -pipefloor, the pipeline on the product's schema and on a bare one) at each concurrency")
	flag.StringVar(&conc, "concurrency", "64,256", "comma-separated client counts")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each run")
	flag.StringVar(&o.waitIn, "wait-in", "post", "where each client waits for its task: in its POST /tasks?wait= (post, one request a task) or in a GET /tasks/{id}?wait= after it (get, two)")
	flag.IntVar(&o.workers, "workers", 128, "YMERA's AGENT_WORKERS for bench_noop (River's server runs 128 workers)")
	flag.BoolVar(&o.targets, "targets", true, "then measure issue 6's target table in process and print it")
	flag.DurationVar(&o.targetDuration, "target-duration", 10*time.Second, "length of each throughput run of the targets")
	flag.IntVar(&o.targetRuns, "target-runs", 3, "runs of each target measurement, taken in turn (every measurement once, then again); the table prints the median of each figure")
	flag.BoolVar(&o.million, "million", true, "with the targets, also measure the two rows that need a million tasks (GET /tasks over a million rows, RSS with a million queued), once each: about a minute more")
	flag.StringVar(&o.listtasks, "listtasks", "bin/listtasks", "the bench/listtasks binary, for -million")
	flag.StringVar(&o.natsflood, "natsflood", "bin/natsflood", "the bench/natsflood binary, for -million")
	flag.BoolVar(&o.sqlite, "sqlite", true, "with -pipefloor, also run YMERA and the pipeline on SQLite files in every round, printed in a table of their own")
	flag.BoolVar(&o.settle, "settle", true, "VACUUM both databases and CHECKPOINT the server before each run (a CHECKPOINT only before each target run), so each starts from the same state")
	flag.Parse()
	for f := range strings.SplitSeq(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "compare: -concurrency=%q: expected positive integers\n", conc)
			os.Exit(2)
		}
		o.concurrency = append(o.concurrency, n)
	}
	if o.targetRuns < 1 {
		fmt.Fprintf(os.Stderr, "compare: -target-runs=%d: expected a positive integer\n", o.targetRuns)
		os.Exit(2)
	}
	if o.waitIn != "post" && o.waitIn != "get" {
		fmt.Fprintf(os.Stderr, "compare: -wait-in=%q: expected post or get\n", o.waitIn)
		os.Exit(2)
	}
	// The servers run in a temporary directory: resolve the binaries first.
	for _, p := range []*string{&o.ymera, &o.river, &o.floor, &o.pipefloor, &o.listtasks, &o.natsflood} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(2)
		}
		*p = abs
	}
	if o.targets && o.million {
		// Found missing now, not after the five minutes before they run.
		for name, p := range map[string]string{"listtasks": o.listtasks, "natsflood": o.natsflood} {
			if _, err := os.Stat(p); err != nil {
				fmt.Fprintf(os.Stderr, "compare: -%s=%s: %v (make bench-compare builds it; -million=false skips the rows that need it)\n", name, p, err)
				os.Exit(2)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	found, err := run(ctx, o)
	if err == nil && o.targets {
		err = printTargets(ctx, o, found) // with every server stopped
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func serverDefault() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// side is one system under test.
type side struct {
	name string
	url  string
	cmd  *exec.Cmd
	// completed/s and HTTP p99 per concurrency, one entry per round.
	perSec map[int][]float64
	p99    map[int][]float64
	// machine µs of CPU per task (all processes: server, client,
	// PostgreSQL), per concurrency, one entry per round.
	machineUS map[int][]float64
	// onSQLite: the side stores nothing in PostgreSQL, which only idles
	// during its runs (`ymera bench --url` cannot tell).
	onSQLite bool
}

// run compares the sides and returns what the target table cites.
func run(ctx context.Context, o options) (found compared, err error) {
	host := procstat.ReadHost("/proc") // before the servers add to its load
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	db := func(prefix string) (string, error) {
		dsn, drop, err := createDatabase(ctx, o.server, prefix)
		if err == nil {
			cleanups = append(cleanups, drop)
		}
		return dsn, err
	}
	tempDir := func() (string, error) {
		dir, err := os.MkdirTemp("", "ymera-compare-")
		if err == nil {
			cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		}
		return dir, err
	}
	ourDB, err := db("ymera_cmp_")
	if err != nil {
		return found, err
	}
	riverDB, err := db("river_cmp_")
	if err != nil {
		return found, err
	}
	dataDir, err := tempDir()
	if err != nil {
		return found, err
	}

	ours := &side{name: "ymera"}
	river := &side{name: "river"}
	floor := &side{name: "floor"}
	pipe := &side{name: "pipeline"}
	bare := &side{name: "bare"}
	oursSQ := &side{name: "ymera-sq", onSQLite: true}
	pipeSQ := &side{name: "pipe-sq", onSQLite: true}
	for _, s := range []*side{ours, river, floor, pipe, bare, oursSQ, pipeSQ} {
		port, err := freePort()
		if err != nil {
			return found, err
		}
		s.url = "http://127.0.0.1:" + port
	}
	ours.cmd = serveCmd(o, ours.url, dataDir, ourDB)
	river.cmd = exec.Command(o.river)
	river.cmd.Env = append(os.Environ(), "DATABASE_URL="+riverDB, "ADDR="+strings.TrimPrefix(river.url, "http://"),
		"JWT_SECRET_KEY="+randomHex(32))
	sides := []*side{ours, river}
	settled := []string{ourDB, riverDB}
	if o.floor != "" {
		floor.cmd = exec.Command(o.floor, "-addr", strings.TrimPrefix(floor.url, "http://"))
		sides = append(sides, floor)
	}
	if o.pipefloor != "" {
		for _, p := range []struct {
			s      *side
			prefix string
			schema string
		}{{pipe, "pipefloor_cmp_", "product"}, {bare, "pipefloor_bare_cmp_", "bare"}} {
			dsn, err := db(p.prefix)
			if err != nil {
				return found, err
			}
			p.s.cmd = exec.Command(o.pipefloor, "-addr", strings.TrimPrefix(p.s.url, "http://"), "-database", dsn,
				"-schema", p.schema)
			sides = append(sides, p.s)
			settled = append(settled, dsn)
		}
		if o.sqlite {
			// Each in a directory of its own: YMERA's SQLite file in its
			// DATA_DIR, the pipeline's named outright.
			ourDir, err := tempDir()
			if err != nil {
				return found, err
			}
			pipeDir, err := tempDir()
			if err != nil {
				return found, err
			}
			oursSQ.cmd = serveCmd(o, oursSQ.url, ourDir, "")
			pipeSQ.cmd = exec.Command(o.pipefloor, "-addr", strings.TrimPrefix(pipeSQ.url, "http://"),
				"-store", "sqlite", "-database", filepath.Join(pipeDir, "pipefloor.db"))
			pipeSQ.cmd.Dir = pipeDir
			sides = append(sides, oursSQ, pipeSQ)
		}
	}
	for _, s := range sides {
		s.perSec, s.p99, s.machineUS = map[int][]float64{}, map[int][]float64{}, map[int][]float64{}
		s.cmd.Stderr = os.Stderr
		if err := s.cmd.Start(); err != nil {
			return found, fmt.Errorf("start %s: %w", s.name, err)
		}
		cleanups = append(cleanups, func() { stopProcess(s.cmd) })
		if err := waitReady(ctx, s.url+"/health", time.Minute); err != nil {
			return found, fmt.Errorf("%s: %w", s.name, err)
		}
	}

	fmt.Printf("machine: %s (shared)\n", host)
	if v := benchkit.ServerVersion(ctx, o.server); v != "" {
		fmt.Printf("database: PostgreSQL %s, shared by every side\n", v)
	}
	fmt.Printf("each run %s; rounds %d\n", o.duration, o.rounds)
	if o.waitIn == "get" {
		fmt.Println("each task: POST /tasks, then GET /tasks/{id}?wait=10s until it ends (-wait-in=get)")
	} else {
		fmt.Println("each task: POST /tasks?wait=10s, answered once it ends (-wait-in=post)")
	}
	var tidy benchkit.Settler
	if o.settle {
		tidy = benchkit.Settler{Server: o.server, Databases: settled, Name: "compare"}
		fmt.Println("before each run: VACUUM the databases, CHECKPOINT (-settle=false skips)")
	}
	rotation := []*side{ours, river}
	if pipe.cmd != nil {
		rotation = append(rotation, pipe, bare)
	}
	if oursSQ.cmd != nil {
		rotation = append(rotation, oursSQ, pipeSQ)
	}
	for round := range o.rounds {
		// Each round starts with the next side, so that none always runs
		// first or after the same other.
		k := round % len(rotation)
		order := append(slices.Clone(rotation[k:]), rotation[:k]...)
		for _, c := range o.concurrency {
			for _, s := range order {
				tidy.Settle(ctx)
				rep, err := bench(ctx, o, s.url, c)
				if err != nil {
					return found, fmt.Errorf("round %d, %s, concurrency %d: %w", round+1, s.name, c, err)
				}
				if s.onSQLite {
					rep.CPU.DatabaseUSPerTask = 0
				}
				s.perSec[c] = append(s.perSec[c], rep.CompletedPerSec)
				s.p99[c] = append(s.p99[c], rep.P99ms)
				s.machineUS[c] = append(s.machineUS[c], rep.CPU.MachineUSPerTask)
				fmt.Printf("round %d  %-8s c=%-4d completed %8.0f/s  accepted %8.0f/s  p99 %7.1f ms  errors %d%s\n",
					round+1, s.name, c, rep.CompletedPerSec, rep.AcceptedPerSec, rep.P99ms, rep.Errors, rep.CPU)
			}
		}
	}
	if floor.cmd != nil {
		for _, c := range o.concurrency {
			rep, err := bench(ctx, o, floor.url, c)
			if err != nil {
				return found, fmt.Errorf("floor, concurrency %d: %w", c, err)
			}
			floor.perSec[c] = append(floor.perSec[c], rep.CompletedPerSec)
			rep.CPU.DatabaseUSPerTask = 0 // the floor server has no database; PostgreSQL only idled
			fmt.Printf("floor    c=%-4d completed %8.0f/s  (bench/httpfloor: the same requests, no work)%s\n", c, rep.CompletedPerSec, rep.CPU)
		}
	}
	fmt.Println()
	fmt.Printf("%-12s %14s %14s %10s %12s %12s %12s %12s %12s %10s %10s %10s %12s\n", "concurrency", "ymera /s", "river /s", "ratio",
		"ymera p99", "river p99", "floor /s", "pipeline /s", "ours/pipe", "bare /s", "ymera µs", "river µs", "pipeline µs")
	found = compared{ratios: map[int]float64{}, sqlite: map[int][2]float64{}}
	for _, c := range o.concurrency {
		a, b := benchkit.Median(ours.perSec[c]), benchkit.Median(river.perSec[c])
		ratio := 0.0
		if b > 0 {
			ratio = a / b
		}
		found.ratios[c] = ratio
		fl, pl, share, br := "-", "-", "-", "-"
		if v := floor.perSec[c]; len(v) > 0 {
			fl = strconv.FormatFloat(v[0], 'f', 0, 64)
		}
		if m := benchkit.Median(pipe.perSec[c]); m > 0 {
			pl = strconv.FormatFloat(m, 'f', 0, 64)
			share = strconv.FormatFloat(100*a/m, 'f', 0, 64) + " %"
		}
		if m := benchkit.Median(bare.perSec[c]); m > 0 {
			br = strconv.FormatFloat(m, 'f', 0, 64)
		}
		fmt.Printf("%-12d %14.0f %14.0f %9.2fx %9.1f ms %9.1f ms %12s %12s %12s %10s %10s %10s %12s\n", c, a, b, ratio,
			benchkit.Median(ours.p99[c]), benchkit.Median(river.p99[c]), fl, pl, share, br,
			usPerTask(ours.machineUS[c]), usPerTask(river.machineUS[c]), usPerTask(pipe.machineUS[c]))
	}
	fmt.Println("(pipeline: bench/pipefloor, the same pipeline with nothing around it; bare: the same on a tasks table stripped to its primary key;")
	fmt.Println(" µs: the machine's CPU per completed task, every process on it; medians of the rounds)")
	if oursSQ.cmd == nil {
		return found, nil
	}
	fmt.Println()
	fmt.Printf("%-12s %14s %14s %12s %12s %14s %10s %12s\n", "SQLite, c", "ymera /s", "pipeline /s", "ours/pipe",
		"ymera p99", "pipeline p99", "ymera µs", "pipeline µs")
	for _, c := range o.concurrency {
		a, b := benchkit.Median(oursSQ.perSec[c]), benchkit.Median(pipeSQ.perSec[c])
		found.sqlite[c] = [2]float64{a, b}
		share := "-"
		if b > 0 {
			share = strconv.FormatFloat(100*a/b, 'f', 0, 64) + " %"
		}
		fmt.Printf("%-12d %14.0f %14.0f %12s %9.1f ms %11.1f ms %10s %12s\n", c, a, b, share,
			benchkit.Median(oursSQ.p99[c]), benchkit.Median(pipeSQ.p99[c]), usPerTask(oursSQ.machineUS[c]), usPerTask(pipeSQ.machineUS[c]))
	}
	fmt.Println("(ymera serve on its embedded default and bench/pipefloor -store sqlite, each on a SQLite file of its own,")
	fmt.Println(" driven as above; medians of the rounds)")
	return found, nil
}

// serveCmd is `ymera serve` for the comparison at url, with the bench_noop
// agent, its data in dataDir, and its store at databaseURL (PostgreSQL), or,
// when that is empty, on its embedded default: a SQLite file in dataDir.
func serveCmd(o options, url, dataDir, databaseURL string) *exec.Cmd {
	cmd := exec.Command(o.ymera, "serve")
	cmd.Dir = dataDir // no stray .env is read
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+databaseURL, "DATA_DIR="+dataDir, "HTTP_ADDR="+strings.TrimPrefix(url, "http://"),
		"AGENT_KINDS=bench_noop", "AGENT_WORKERS="+strconv.Itoa(o.workers), "RATE_LIMIT_ENABLED=false",
		"JWT_SECRET_KEY="+randomHex(32), "LOG_LEVEL=WARNING", "NATS_URL=", "NATS_LISTEN=",
	)
	return cmd
}

// report is the part of `ymera bench --json` compared here.
type report struct {
	CompletedPerSec float64 `json:"completed_per_sec"`
	AcceptedPerSec  float64 `json:"accepted_per_sec"`
	P99ms           float64 `json:"p99_ms"`
	Errors          int     `json:"errors"`
	CPU             cpu     `json:"cpu"`
}

// cpu is the CPU per task a run cost (`ymera bench` "cpu"); zero where the
// bench could not tell.
type cpu struct {
	procstat.PerTask
	ServerUSPerTask float64 `json:"server_us_per_task"`
}

// String is the run line's CPU part: empty when nothing was measured.
func (c cpu) String() string {
	var b strings.Builder
	if c.MachineUSPerTask > 0 {
		fmt.Fprintf(&b, "  machine %4.0f µs/task", c.MachineUSPerTask)
	}
	if c.ServerUSPerTask > 0 {
		fmt.Fprintf(&b, "  server %4.0f µs/task", c.ServerUSPerTask)
	}
	if c.DatabaseUSPerTask > 0 {
		fmt.Fprintf(&b, "  PostgreSQL %4.0f µs/task", c.DatabaseUSPerTask)
	}
	return b.String()
}

// usPerTask is the median of a side's machine µs per task, or "-".
func usPerTask(v []float64) string {
	if m := benchkit.Median(v); m > 0 {
		return strconv.FormatFloat(m, 'f', 0, 64)
	}
	return "-"
}

func bench(ctx context.Context, o options, url string, c int) (report, error) {
	var r report
	err := ymeraBench(ctx, o, o.duration+5*time.Minute, nil, &r,
		"--url", url, "--concurrency", strconv.Itoa(c), "--duration", o.duration.String(), "--wait-in", o.waitIn)
	return r, err
}

// ymeraBench runs `ymera bench --json` with args, for at most limit, and
// decodes its report into out. env, when not nil, is the child's
// environment. It runs in the temporary directory, so no stray .env is read.
func ymeraBench(ctx context.Context, o options, limit time.Duration, env []string, out any, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// On an interrupt or at its limit the run is asked to stop, and drops
	// the throwaway database it made (benchkit.Command).
	cmd := benchkit.Command(ctx, o.ymera, append([]string{"bench", "--json"}, args...)...)
	cmd.Dir, cmd.Env = os.TempDir(), env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("bench output: %w", err)
	}
	return nil
}

// createDatabase makes an empty database and returns its URL and a drop.
func createDatabase(ctx context.Context, server, prefix string) (string, func(), error) {
	base, err := url.Parse(server)
	if err != nil {
		return "", nil, fmt.Errorf("-server: %w", err)
	}
	name := prefix + randomHex(6)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, server)
	if err != nil {
		return "", nil, fmt.Errorf("connect %s: %w", base.Redacted(), err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, server)
		if err == nil {
			defer admin.Close(context.Background())
			_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "compare: database %s left behind: %v\n", name, err)
		}
	}
	u := *base
	u.Path = "/" + name
	return u.String(), drop, nil
}

// waitReady polls url until it answers 200, for at most limit.
func waitReady(ctx context.Context, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s within %s", url, limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopProcess asks the process to stop, then kills it after 15 s.
func stopProcess(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// freePort returns a port that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("no free port: %w", err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
