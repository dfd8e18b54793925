// Command abtest compares two builds of ymera, or one build under two
// settings, on this machine: `make bench-ab`. It runs `ymera bench --json`
// (in process: a whole system, a fresh store, the bench client) with each
// side in turn, for several pairs, and reports each figure's paired ratio
// B/A: the ratio within each pair, then the median and the range of those
// ratios and how many pairs went B's way.
//
// The machine it is meant for is shared, and its speed drifts by tens of
// per cent within minutes (docs/performance.md). Two things keep that drift
// out of the verdict. The pairs run in ABBA order (A B, then B A, ...), so
// a steady drift favours neither side. And each ratio is taken within its
// pair, a minute at most apart, so the drift between pairs cancels instead
// of widening the spread of each side's figures. The CPU a task costs
// (process, database, machine) moves less with the host than the rate does
// and is the figure to decide a change by; the sign test's p says how
// likely a split at least as lopsided would be if B made no difference.
//
// Side A can be a commit rather than a binary (-a-rev): abtest then builds
// it in a temporary git worktree and removes both when it is done.
//
// Before each run it asks the PostgreSQL server for a CHECKPOINT (the
// server of TEST_DATABASE_URL, or -server), so that no run inherits the
// writes of the one before it (docs/performance.md, step 19). A server that
// cannot be reached or refuses is reported once, and the runs go on.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/ymera/ymera/internal/benchkit"
)

// defaultBenchArgs is the run the target table's c=64 row is measured with.
var defaultBenchArgs = []string{"--store", "postgres", "--concurrency", "64", "--duration", "8s"}

// envList is a repeatable -a-env/-b-env flag: KEY=VALUE entries.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*l = append(*l, v)
	return nil
}

// side is one half of the comparison: a binary and its extra environment.
type side struct {
	name string // "A" or "B"
	bin  string
	rev  string // the git revision bin was built from (-a-rev); empty: given as a binary
	env  envList
}

func (s side) String() string {
	d := s.bin
	if s.rev != "" {
		d = fmt.Sprintf("%s (built at %s)", s.bin, s.rev)
	}
	if len(s.env) > 0 {
		d += " with " + s.env.String()
	}
	return d
}

type options struct {
	a, b      side
	pairs     int
	server    string // PostgreSQL to CHECKPOINT before each run; empty: none
	benchArgs []string
}

func main() {
	o := options{a: side{name: "A"}, b: side{name: "B"}}
	flag.StringVar(&o.a.bin, "a", "", "side A: the ymera binary to compare against (the baseline); default: -b's")
	rev := flag.String("a-rev", "", "side A: build ymera at this git revision (a temporary worktree of the repository here) instead of -a")
	flag.StringVar(&o.b.bin, "b", "bin/ymera", "side B: the ymera binary under test")
	flag.Var(&o.a.env, "a-env", "KEY=VALUE added to side A's environment (repeatable); compares settings with one binary")
	flag.Var(&o.b.env, "b-env", "KEY=VALUE added to side B's environment (repeatable)")
	flag.IntVar(&o.pairs, "pairs", 6, "pairs of runs, in ABBA order")
	flag.StringVar(&o.server, "server", os.Getenv("TEST_DATABASE_URL"), "PostgreSQL server to CHECKPOINT before each run; empty skips it")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: abtest [flags] [-- ymera bench flags]\n\n"+
			"Runs `ymera bench --json` with sides A and B in turn and prints each figure's paired ratio B/A.\n"+
			"The bench flags default to %s.\n\n", strings.Join(defaultBenchArgs, " "))
		flag.PrintDefaults()
	}
	flag.Parse()
	o.benchArgs = flag.Args()
	if len(o.benchArgs) == 0 {
		o.benchArgs = defaultBenchArgs
	}
	if *rev != "" && o.a.bin != "" {
		fmt.Fprintln(os.Stderr, "abtest: give side A as -a or as -a-rev, not both")
		os.Exit(2)
	}
	if o.a.bin == "" && *rev == "" {
		o.a.bin = o.b.bin
	}
	if err := o.check(); err != nil { // before any build: side A's binary, if -a-rev, is not made yet
		fmt.Fprintln(os.Stderr, "abtest:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := func() error {
		if *rev != "" {
			bin, cleanup, err := buildRev(ctx, *rev)
			defer cleanup()
			if err != nil {
				return err
			}
			o.a.bin, o.a.rev = bin, *rev
		}
		return run(ctx, o, os.Stdout)
	}()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "abtest:", err)
		os.Exit(1)
	}
}

// buildRev builds cmd/ymera at rev in a temporary worktree of the
// repository abtest runs in, and returns the binary and what removes both.
func buildRev(ctx context.Context, rev string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "abtest-")
	if err != nil {
		return "", func() {}, err
	}
	tree := filepath.Join(dir, "tree")
	cleanup = func() {
		_ = exec.Command("git", "worktree", "remove", "--force", tree).Run()
		_ = os.RemoveAll(dir)
	}
	for _, args := range [][]string{
		{"git", "worktree", "add", "--detach", "--quiet", tree, rev},
		{"go", "build", "-C", tree, "-trimpath", "-o", filepath.Join(dir, "ymera"), "./cmd/ymera"},
	} {
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return "", cleanup, fmt.Errorf("side A at %s: %s: %w\n%s", rev, strings.Join(args, " "), err, lastLines(string(out), 5))
		}
	}
	return filepath.Join(dir, "ymera"), cleanup, nil
}

func (o options) check() error {
	if o.pairs < 1 {
		return fmt.Errorf("-pairs %d: at least one pair", o.pairs)
	}
	if o.a.String() == o.b.String() {
		return errors.New("sides A and B are the same binary with the same environment; give -a, -a-env or -b-env")
	}
	for _, s := range []side{o.a, o.b} {
		if s.bin == "" {
			continue // built from -a-rev later
		}
		if _, err := exec.LookPath(s.bin); err != nil {
			return fmt.Errorf("side %s: %w", s.name, err)
		}
	}
	for _, a := range o.benchArgs {
		if a == "--json" || strings.HasPrefix(a, "--url") {
			return fmt.Errorf("bench flag %s: abtest adds --json itself and runs the system in process", a)
		}
	}
	return nil
}

// metric is one figure of `ymera bench --json`.
type metric struct {
	name  string
	unit  string
	lower bool // lower is better
	get   func(report) float64
}

// report is what abtest reads of `ymera bench --json`.
type report struct {
	CompletedPerSec float64 `json:"completed_per_sec"`
	P99             float64 `json:"p99_ms"`
	RequestP99      float64 `json:"request_p99_ms"`
	Errors          int     `json:"errors"`
	CPU             struct {
		Process  float64 `json:"process_us_per_task"`
		Database float64 `json:"database_us_per_task"`
		Machine  float64 `json:"machine_us_per_task"`
	} `json:"cpu"`
}

var metrics = []metric{
	{"completed/s", "", false, func(r report) float64 { return r.CompletedPerSec }},
	{"p99", "ms", true, func(r report) float64 { return r.P99 }},
	{"request p99", "ms", true, func(r report) float64 { return r.RequestP99 }},
	{"process CPU a task", "µs", true, func(r report) float64 { return r.CPU.Process }},
	{"database CPU a task", "µs", true, func(r report) float64 { return r.CPU.Database }},
	{"machine CPU a task", "µs", true, func(r report) float64 { return r.CPU.Machine }},
}

func run(ctx context.Context, o options, out io.Writer) error {
	fmt.Fprintf(out, "A: %s\nB: %s\nbench %s, %s in ABBA order\n\n", o.a, o.b, strings.Join(o.benchArgs, " "), plural(o.pairs, "pair"))
	tidy := benchkit.Settler{Server: o.server, Name: "abtest"}
	var as, bs []report
	for i := range o.pairs {
		first, second := o.a, o.b
		if i%2 == 1 {
			first, second = o.b, o.a
		}
		for _, s := range []side{first, second} {
			tidy.Settle(ctx)
			r, err := benchOnce(ctx, s, o.benchArgs)
			if err != nil {
				return fmt.Errorf("pair %d, side %s: %w", i+1, s.name, err)
			}
			fmt.Fprintf(out, "pair %d %s  %8.0f/s  p99 %6.2f ms  request p99 %6.2f ms  process %6.1f µs  database %5.1f µs  machine %6.1f µs\n",
				i+1, s.name, r.CompletedPerSec, r.P99, r.RequestP99, r.CPU.Process, r.CPU.Database, r.CPU.Machine)
			if s.name == "A" {
				as = append(as, r)
			} else {
				bs = append(bs, r)
			}
		}
	}
	fmt.Fprintln(out)
	printSummary(out, as, bs)
	return nil
}

// benchOnce runs one `ymera bench --json` of s and decodes its report.
func benchOnce(ctx context.Context, s side, args []string) (report, error) {
	// Interrupted, ymera bench stops its system and drops its throwaway
	// database itself; a kill would leave the database behind.
	cmd := benchkit.Command(ctx, s.bin, append([]string{"bench", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), s.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return report{}, fmt.Errorf("interrupted; %s stopped its run", s.bin)
		}
		return report{}, fmt.Errorf("%s: %w\n%s", s.bin, err, lastLines(stderr.String(), 5))
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return report{}, fmt.Errorf("%s: its report is not the JSON of ymera bench --json: %w", s.bin, err)
	}
	if r.CompletedPerSec <= 0 {
		return report{}, fmt.Errorf("%s completed no task", s.bin)
	}
	if r.Errors > 0 {
		return report{}, fmt.Errorf("%s: %d requests failed in the run", s.bin, r.Errors)
	}
	return r, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// printSummary writes, per metric, both sides' medians and the paired
// ratios B/A of as and bs (pair i is as[i], bs[i]).
func printSummary(out io.Writer, as, bs []report) {
	fmt.Fprintf(out, "%-20s %12s %12s %9s %17s %8s %7s %7s\n", "figure", "A median", "B median", "B/A", "B/A range", "B better", "B worse", "sign p")
	for _, m := range metrics {
		var av, bv, ratios []float64
		better, worse := 0, 0
		for i := range as {
			a, b := m.get(as[i]), m.get(bs[i])
			av, bv = append(av, a), append(bv, b)
			if a <= 0 || b <= 0 {
				continue // not measured (database CPU on SQLite, say)
			}
			ratios = append(ratios, b/a)
			switch {
			case a == b:
			case (b < a) == m.lower:
				better++
			default:
				worse++
			}
		}
		if len(ratios) == 0 {
			continue
		}
		unit := ""
		if m.unit != "" {
			unit = " " + m.unit
		}
		fmt.Fprintf(out, "%-20s %12s %12s %9.3f %8.3f-%-8.3f %8d %7d %7.3f\n", m.name,
			fmt.Sprintf("%.1f%s", benchkit.Median(av), unit), fmt.Sprintf("%.1f%s", benchkit.Median(bv), unit),
			benchkit.Median(ratios), slices.Min(ratios), slices.Max(ratios), better, worse, signTestP(better, better+worse))
	}
	fmt.Fprintln(out, "\nB/A is the median of the ratios within each pair; B better and B worse count the pairs by whose figure was the better one (a tie counts in neither).")
	fmt.Fprintln(out, "sign p: how likely a split at least this uneven would be if B made no difference (two-sided sign test over the pairs that were not ties).")
}

// signTestP is the two-sided p of k successes in n trials under a fair
// coin: the chance of a split at least as far from n/2 as k is.
func signTestP(k, n int) float64 {
	if n == 0 {
		return 1
	}
	tail := min(k, n-k)
	p := 0.0
	for i := 0; i <= tail; i++ {
		p += binomial(n, i)
	}
	p = 2 * p / math.Pow(2, float64(n))
	return min(p, 1)
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// plural is "1 pair", "2 pairs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
