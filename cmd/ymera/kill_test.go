package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/transport"
)

// buildBinary builds ymera once for tests that run it as a separate process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ymera")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProcess runs `ymera serve` as a child process and waits until it listens.
func startProcess(t *testing.T, bin string, env []string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	// The test polls many tasks as one user, faster than the default
	// per-user limit allows; limits are tested in package gateway.
	cmd.Env = append(append(os.Environ(), "RATE_LIMIT_ENABLED=false"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The process's log goes to a file, shown when the test fails.
	logPath := filepath.Join(t.TempDir(), "stderr.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		_ = logFile.Close()
		if t.Failed() {
			logTail(t, logPath, 80)
		}
	})
	return cmd, waitListening(t, stdout)
}

// logTail logs the last n lines of a process's log.
func logTail(t *testing.T, path string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Logf("log %s: %v", path, err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	t.Logf("last %d lines of %s:\n%s", len(lines), path, strings.Join(lines, "\n"))
}

// TestKillNineAndRestart stops the whole serve process with SIGKILL while
// tasks are queued and running, starts it again on the same DATA_DIR, and
// checks that every accepted task completes, none is lost and none has two
// results.
func TestKillNineAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	natsPort := freePort(t)
	env := []string{
		"DATA_DIR=" + t.TempDir(),
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", freePort(t)),
		fmt.Sprintf("NATS_LISTEN=127.0.0.1:%d", natsPort),
		"AGENT_KINDS=bench_noop",
		"AGENT_WORKERS=4",
		"AGENT_ACK_WAIT=2s",
		"LOG_LEVEL=INFO",
		// Every start recorded before the agent runs, so that the kill
		// surely hits recorded attempts: with deferred starts, the four
		// workers' 150 ms tasks run in step, and a kill inside their first
		// 50 ms leaves nothing to retry. make soak kills deferred ones.
		"AGENT_RECORD_START_AFTER=0",
	}
	proc, base := startProcess(t, bin, env)
	a := &apiClient{t: t, base: base, c: &http.Client{Timeout: 10 * time.Second}}
	a.signUp()

	const n = 60
	ids := make([]string, 0, n)
	for range n {
		ids = append(ids, a.submit("bench_noop", map[string]int{"sleep_ms": 150}))
	}
	// Let some finish and some start, then kill without warning.
	time.Sleep(600 * time.Millisecond)
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = proc.Wait()

	_, base2 := startProcess(t, bin, env)
	if base2 != base {
		t.Fatalf("restarted on %s, want %s", base2, base)
	}
	deadline := time.Now().Add(90 * time.Second)
	retried := 0
	for _, id := range ids {
		tv := a.waitFinal(id, time.Until(deadline))
		if tv.Status != "completed" {
			t.Errorf("task %s ended %s: %s", id, tv.Status, tv.ErrorMessage)
		}
		if tv.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no task needed a second attempt: the kill did not hit running tasks")
	}
	t.Logf("%d tasks, %d ran again after the kill", n, retried)

	// Exactly one completion per task: count the completion events, which
	// are published only after a successful conditional commit.
	counts := completionEvents(t, fmt.Sprintf("nats://127.0.0.1:%d", natsPort))
	for _, id := range ids {
		if counts[id] > 1 {
			t.Errorf("task %s completed %d times", id, counts[id])
		}
	}
	var list []taskView
	a.mustJSON(http.MethodGet, "/tasks?limit=100", nil, http.StatusOK, &list)
	if len(list) != n {
		t.Errorf("GET /tasks lists %d tasks, want %d (none lost, none doubled)", len(list), n)
	}
}

// completionEvents reads the whole events stream, up to the last sequence
// it holds when the read starts, and counts task.completed per task. It
// reads to that sequence rather than until a fetch comes back empty: an
// ordered consumer can answer an empty fetch while it is still catching up.
func completionEvents(t *testing.T, url string) map[string]int {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, transport.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	last := stream.CachedInfo().State.LastSeq
	cons, err := js.OrderedConsumer(ctx, transport.StreamEvents, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var seen uint64
	for seen < last {
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d events before the deadline", seen, last)
		}
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if md, err := m.Metadata(); err == nil {
				seen = md.Sequence.Stream
			}
			var ev transport.Event
			if json.Unmarshal(m.Data(), &ev) == nil && ev.Type == "task.completed" {
				counts[ev.TaskID]++
			}
		}
	}
	return counts
}
