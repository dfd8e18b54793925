package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBench writes a script that stands in for ymera: it notes its side
// and arguments in log and prints a report with these figures.
func fakeBench(t *testing.T, dir, name, log string, perSec, processUS float64, extra string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	script := fmt.Sprintf(`#!/bin/sh
echo "%s $* $AB_MARK" >> %q
%s
echo '{"completed_per_sec": %g, "p99_ms": 10, "request_p99_ms": 5, "errors": 0, "cpu": {"process_us_per_task": %g, "database_us_per_task": 0, "machine_us_per_task": 150}}'
`, name, log, extra, perSec, processUS)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunAlternatesAndReportsPairedRatios(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	o := options{
		a:         side{name: "A", bin: fakeBench(t, dir, "old", log, 100, 50, "")},
		b:         side{name: "B", bin: fakeBench(t, dir, "new", log, 110, 45, ""), env: envList{"AB_MARK=b-env"}},
		pairs:     4,
		benchArgs: []string{"--store", "sqlite"},
	}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"old bench --json --store sqlite ", "new bench --json --store sqlite b-env",
		"new bench --json --store sqlite b-env", "old bench --json --store sqlite ",
		"old bench --json --store sqlite ", "new bench --json --store sqlite b-env",
		"new bench --json --store sqlite b-env", "old bench --json --store sqlite ",
	}, "\n") + "\n"
	if string(calls) != want {
		t.Errorf("runs, in order:\n%s\nwant (ABBA, B with its environment):\n%s", calls, want)
	}
	summary := out.String()
	for _, want := range [][]string{
		// 110/100 in every pair; B better in all four; p = 2/16.
		{"completed/s", "100.0", "110.0", "1.100", "1.100-1.100", "4", "0", "0.125"},
		{"process CPU a task", "50.0 µs", "45.0 µs", "0.900", "0.900-0.900", "4", "0", "0.125"},
		// Ties: no pair to count, nothing against B.
		{"p99", "10.0 ms", "10.0 ms", "1.000", "1.000-1.000", "0", "0", "1.000"},
	} {
		if got := summaryRow(summary, want[0]); got != strings.Join(strings.Fields(strings.Join(want, " ")), " ") {
			t.Errorf("summary row %q = %q, want %q\n%s", want[0], got, want, summary)
		}
	}
	if strings.Contains(summary, "database CPU") {
		t.Errorf("a figure no run measured (0) is in the summary:\n%s", summary)
	}
}

// summaryRow is the summary's row of figure, its fields joined by one
// space (names are padded to a column, so at least two spaces follow one).
func summaryRow(summary, figure string) string {
	for line := range strings.Lines(summary) {
		if strings.HasPrefix(line, figure+"  ") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	return ""
}

func TestRunStopsOnAFailedRun(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	o := options{
		a:         side{name: "A", bin: fakeBench(t, dir, "old", log, 100, 50, "")},
		b:         side{name: "B", bin: fakeBench(t, dir, "broken", log, 100, 50, "echo 'no database' >&2; exit 3")},
		pairs:     2,
		benchArgs: defaultBenchArgs,
	}
	var out bytes.Buffer
	err := run(context.Background(), o, &out)
	if err == nil || !strings.Contains(err.Error(), "pair 1, side B") || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("run = %v, want the failed side named with its stderr", err)
	}
}

func TestCheckRefusesWhatCannotCompare(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBench(t, dir, "ymera", filepath.Join(dir, "log"), 1, 1, "")
	for _, tc := range []struct {
		name string
		o    options
		want string
	}{
		{"same sides", options{a: side{bin: bin}, b: side{bin: bin}, pairs: 1}, "the same binary"},
		{"no pairs", options{a: side{bin: bin}, b: side{bin: bin, env: envList{"X=1"}}, pairs: 0}, "-pairs 0"},
		{"json given", options{a: side{bin: bin}, b: side{bin: bin, env: envList{"X=1"}}, pairs: 1, benchArgs: []string{"--json"}}, "adds --json itself"},
		{"url given", options{a: side{bin: bin}, b: side{bin: bin, env: envList{"X=1"}}, pairs: 1, benchArgs: []string{"--url=http://x"}}, "in process"},
		{"missing binary", options{a: side{name: "A", bin: filepath.Join(dir, "nope")}, b: side{bin: bin}, pairs: 1}, "side A"},
	} {
		if err := tc.o.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: check = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	var l envList
	if err := l.Set("NOEQUALS"); err == nil {
		t.Error("an -a-env without = was accepted")
	}
}

func TestSignTestP(t *testing.T) {
	for _, tc := range []struct {
		k, n int
		want float64
	}{
		{0, 6, 2.0 / 64},
		{6, 6, 2.0 / 64},
		{5, 6, 2.0 * 7 / 64},
		{3, 6, 1},
		{4, 8, 1},
		{0, 0, 1},
		{1, 1, 1},
	} {
		if got := signTestP(tc.k, tc.n); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("signTestP(%d, %d) = %v, want %v", tc.k, tc.n, got, tc.want)
		}
	}
}
