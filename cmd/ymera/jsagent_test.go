package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestJSAgent runs the Node.js agent of examples/js-agent, which speaks
// only docs/protocol.md, against a whole system in-process whose embedded
// NATS runs the repository's nats.conf on a free port, the agent connecting
// as its least-privilege user `agent`: a js_echo task submitted over HTTP is taken
// by the JavaScript agent and its result reaches the API. It needs node and
// the example's node_modules (`npm ci --prefix examples/js-agent`, which
// `make test` runs when npm is installed); without them it is skipped.
func TestJSAgent(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir, err := filepath.Abs("../../examples/js-agent")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "nats")); err != nil {
		t.Skip("examples/js-agent has no node_modules; run npm ci --prefix examples/js-agent")
	}

	// The repository's nats.conf: the system connects as its all-in-one
	// user, the agent as the least-privilege user `agent`.
	conf, natsURL := repoNatsConf(t)
	cfg := testConfig(t, map[string]string{
		"NATS_CONFIG": conf, "NATS_USER": "ymera", "NATS_PASSWORD": "change-me-ymera",
		"RATE_LIMIT_ENABLED": "false",
	})
	// Not startTestSystem: the task-type watch lives as long as the context
	// startSystem gets, and the agent registers its type after the start.
	sysCtx, stopSys := context.WithCancel(context.Background())
	s, err := startSystem(sysCtx, cfg, testLogger(t), nil)
	if err != nil {
		t.Fatalf("start system: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.close(ctx)
		stopSys()
	})
	api := &apiClient{t: t, base: "http://" + s.addr(), c: &http.Client{Timeout: 10 * time.Second}}

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "agent.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NATS_URL="+natsURL, "AGENT_ID=js-test-agent",
		"NATS_USER=agent", "NATS_PASSWORD=change-me-agent")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stderr := &violationWriter{w: tWriter{t}}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			t.Log("js agent: " + sc.Text())
			if strings.Contains(sc.Text(), " ready") {
				close(ready)
				for sc.Scan() {
				}
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the JS agent did not get ready within 60 s")
	}

	api.signUp()
	// The gateway learns the new type from the registry watch; wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for !s.types.Known("js_echo") {
		if time.Now().After(deadline) {
			t.Fatal("task type js_echo not registered within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	id := api.submit("js_echo", map[string]any{"text": "hello from Go"})
	tv := api.waitFinal(id, 60*time.Second)
	if tv.Status != "completed" {
		t.Fatalf("task %s is %s (%s), want completed", id, tv.Status, tv.ErrorMessage)
	}
	var res struct {
		Echo map[string]any `json:"echo"`
	}
	if err := json.Unmarshal(tv.Result, &res); err != nil || res.Echo["text"] != "hello from Go" {
		t.Fatalf("result %s (%v), want the echo of the parameters", tv.Result, err)
	}
	if tv.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", tv.Attempts)
	}
	// The agent is a micro service, found the standard way.
	if _, err := s.conn.NC().Request("$SRV.PING.ymera-agent-js_echo", nil, 10*time.Second); err != nil {
		t.Errorf("$SRV.PING of the JS agent: %v", err)
	}
	if stderr.violated() {
		t.Error("the server refused the agent a subject: fix the agent user's allow-list in nats.conf")
	}
}

// violationWriter passes a process's stderr on to w and remembers whether
// it reported a NATS permissions violation.
type violationWriter struct {
	w   io.Writer
	mu  sync.Mutex
	hit bool
}

func (v *violationWriter) Write(p []byte) (int, error) {
	v.mu.Lock()
	v.hit = v.hit || strings.Contains(strings.ToLower(string(p)), "permissions violation")
	v.mu.Unlock()
	return v.w.Write(p)
}

func (v *violationWriter) violated() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.hit
}
