package main

import (
	"os"
	"testing"
)

func TestListP99ReadsTheReportLine(t *testing.T) {
	line := "user=list_user1 status=queued n=1000 body=10475B p50=0.88ms p95=1.78ms p99=4.86ms max=9.01ms req/s=981\n"
	if got, err := listP99(line); err != nil || got != 4.86 {
		t.Errorf("listP99 = %v, %v; want 4.86", got, err)
	}
	for _, bad := range []string{"", "inserted 1000000 rows in 18s", "p99=ms", "xp99=1.0ms"} {
		if got, err := listP99(bad); err == nil {
			t.Errorf("listP99(%q) = %v, want an error", bad, got)
		}
	}
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{
		"published 100000 in 1s\npublished 1000000 tasks in 13s\n": "published 1000000 tasks in 13s\n",
		"one line": "one line\n",
		"a\nb\n\n": "b\n",
		"only\n":   "only\n",
	} {
		if got := lastLine(in); got != want {
			t.Errorf("lastLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRSSOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here")
	}
	mb, ok := rssMB(os.Getpid())
	if !ok || mb <= 1 || mb > 4096 {
		t.Errorf("rssMB(self) = %v, %v; want a few MiB", mb, ok)
	}
	if _, ok := rssMB(-1); ok {
		t.Error("rssMB of no process reported a figure")
	}
}
