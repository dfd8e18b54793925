package main

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// faultEnv is the serve configuration the process fault tests share: an
// embedded NATS on a fixed port (so events can be read after the process
// ends) and a short AckWait so tasks of a killed process come back quickly.
func faultEnv(t *testing.T) (env []string, natsURL string) {
	t.Helper()
	natsPort := freePort(t)
	return []string{
		"DATA_DIR=" + t.TempDir(),
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("NATS_LISTEN=127.0.0.1:%d", natsPort),
		"AGENT_KINDS=bench_noop",
		"AGENT_WORKERS=4",
		"AGENT_ACK_WAIT=2s",
		"LOG_LEVEL=ERROR",
	}, fmt.Sprintf("nats://127.0.0.1:%d", natsPort)
}

// TestKillNineFiveTimesUnderLoad kills the serve process with SIGKILL five
// times in a row while a client keeps submitting, restarting it each time
// on the same DATA_DIR. Every task answered 201 must complete exactly once.
func TestKillNineFiveTimesUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	env, natsURL := faultEnv(t)
	proc, base := startProcess(t, bin, env)
	a := &apiClient{t: t, base: base, c: &http.Client{Timeout: 10 * time.Second}}
	a.signUp()

	l := startLoad(base, a.token, map[string]int{"sleep_ms": 100}, 15*time.Millisecond)
	for i := range 5 {
		time.Sleep(800 * time.Millisecond) // let tasks queue and start
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = proc.Wait()
		var b string
		proc, b = startProcess(t, bin, env)
		if b != base {
			t.Fatalf("restart %d listens on %s, want %s", i+1, b, base)
		}
	}
	time.Sleep(500 * time.Millisecond)
	ids := l.finish()
	t.Logf("load: %s", l)
	if len(ids) == 0 {
		t.Fatal("no task was accepted")
	}
	lost, doubled := checkAllOnce(t, a, natsURL, ids, 90*time.Second)
	t.Logf("after 5 kills: %d accepted, %d lost, %d with two results", len(ids), lost, doubled)
}

// TestSIGTERMUnderLoad stops the serve process with SIGTERM while a client
// keeps submitting: it must exit 0 within SHUTDOWN_GRACE_PERIOD, and after
// a restart every task answered 201 completes exactly once.
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	env, natsURL := faultEnv(t)
	const grace = 10 * time.Second
	env = append(env, "SHUTDOWN_GRACE_PERIOD="+grace.String())
	proc, base := startProcess(t, bin, env)
	a := &apiClient{t: t, base: base, c: &http.Client{Timeout: 10 * time.Second}}
	a.signUp()

	l := startLoad(base, a.token, map[string]int{"sleep_ms": 300}, 10*time.Millisecond)
	time.Sleep(time.Second)
	start := time.Now()
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// A little slack over the grace period for the process to exit.
	code := waitExit(proc, grace+3*time.Second)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM (took %v), want 0 within %v", code, took, grace)
	}
	t.Logf("exited 0 in %v", took)
	time.Sleep(300 * time.Millisecond) // the load meets a closed port meanwhile

	if _, b := startProcess(t, bin, env); b != base {
		t.Fatalf("restarted on %s, want %s", b, base)
	}
	time.Sleep(300 * time.Millisecond)
	ids := l.finish()
	t.Logf("load: %s", l)
	lost, doubled := checkAllOnce(t, a, natsURL, ids, 90*time.Second)
	t.Logf("SIGTERM: %d accepted, %d lost, %d with two results", len(ids), lost, doubled)
}
