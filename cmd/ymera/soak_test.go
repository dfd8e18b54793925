package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ymera/ymera/store/postgres/pgtest"
)

// TestSoak is `make soak`: a serve process on PostgreSQL (through a proxy
// the test controls) under steady load, hit in turn by SIGKILL and restart,
// SIGSTOP/SIGCONT pauses and database outages for YMERA_SOAK_DURATION
// (default 3m). It prints tasks submitted, completed, lost and duplicated,
// and fails on any lost or duplicated. Run only with YMERA_SOAK=1.
func TestSoak(t *testing.T) {
	if os.Getenv("YMERA_SOAK") != "1" {
		t.Skip("set YMERA_SOAK=1 (make soak) for the mixed-fault soak run")
	}
	dur := 3 * time.Minute
	if v := os.Getenv("YMERA_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("YMERA_SOAK_DURATION=%q: want a positive duration such as 5m", v)
		}
		dur = d
	}
	dbURL, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, dbURL.Host)
	dbURL.Host = proxy.addr

	bin := buildBinary(t)
	env, natsURL := faultEnv(t)
	env = append(env, "DATABASE_URL="+dbURL.String(), "SHUTDOWN_GRACE_PERIOD=10s")
	proc, base := startProcess(t, bin, env)
	a := &apiClient{t: t, base: base, c: &http.Client{Timeout: 10 * time.Second}}
	a.signUp()
	l := startLoad(base, a.token, map[string]int{"sleep_ms": 100}, 20*time.Millisecond)

	faults := map[string]int{}
	restart := func() {
		var b string
		proc, b = startProcess(t, bin, env)
		if b != base {
			t.Fatalf("restarted on %s, want %s", b, base)
		}
	}
	end := time.Now().Add(dur)
	for time.Now().Before(end) {
		time.Sleep(3*time.Second + rand.N(4*time.Second))
		switch rand.N(3) {
		case 0:
			faults["kill -9"]++
			_ = proc.Process.Signal(syscall.SIGKILL)
			_ = proc.Wait()
			restart()
		case 1:
			faults["pause"]++
			_ = proc.Process.Signal(syscall.SIGSTOP)
			time.Sleep(time.Second + rand.N(3*time.Second))
			_ = proc.Process.Signal(syscall.SIGCONT)
		case 2:
			faults["database outage"]++
			proxy.Cut()
			time.Sleep(2*time.Second + rand.N(4*time.Second))
			proxy.Restore()
		}
	}
	time.Sleep(2 * time.Second)
	ids := l.finish()
	// End with a graceful stop and restart, so SIGTERM is part of the run.
	_ = proc.Process.Signal(syscall.SIGTERM)
	if code := waitExit(proc, 15*time.Second); code != 0 {
		t.Errorf("SIGTERM at the end: exit code %d, want 0", code)
	}
	restart()
	lost, doubled := checkAllOnce(t, a, natsURL, ids, 3*time.Minute)
	l.mu.Lock()
	submitted := len(ids) + l.noAnswer + sum(l.refused)
	l.mu.Unlock()
	report := fmt.Sprintf("soak %v, faults %v: tasks submitted %d (%s), completed %d, lost %d, duplicated %d",
		dur, faults, submitted, l, len(ids)-lost, lost, doubled)
	t.Log(report)
	fmt.Println(report)
}

func sum(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
