package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// roleProcess is a `ymera gateway` or `ymera node` child process. It keeps
// the lines of its stderr that report a NATS permissions violation: the
// server refusing a subject the role's nats.conf user is not allowed.
type roleProcess struct {
	cmd *exec.Cmd
	// base is the gateway's http://host:port; "" for a node.
	base string

	mu         sync.Mutex
	violations []string
	tail       []string // the last lines of stderr, shown when the test fails
}

// startRole runs `ymera <role> [args]` (gateway, node or agent) as a child
// process and waits for its ready line: "ymera gateway: listening on ..."
// or "ymera node: running agent kinds ..." (agent likewise).
func startRole(t *testing.T, bin, role string, env []string, args ...string) *roleProcess {
	t.Helper()
	p := &roleProcess{cmd: exec.Command(bin, append([]string{role}, args...)...)}
	p.cmd.Env = append(append(os.Environ(), "RATE_LIMIT_ENABLED=false"), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	go p.watchStderr(stderr)
	t.Cleanup(func() {
		if t.Failed() {
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Logf("ymera %s %s stderr (last lines):\n%s", role, strings.Join(env[len(env)-2:], " "), strings.Join(p.tail, "\n"))
		}
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "ymera "+role+": listening on "); ok {
				ready <- u
			} else if strings.HasPrefix(line, "ymera "+role+": running agent kinds ") {
				ready <- ""
			} else {
				continue
			}
			// Keep draining so the process never blocks on a full pipe.
			for sc.Scan() {
			}
			return
		}
		close(ready)
	}()
	select {
	case u, ok := <-ready:
		if !ok {
			t.Fatalf("ymera %s exited before it was ready; permission violations: %v", role, p.permissionViolations())
		}
		p.base = u
	case <-time.After(60 * time.Second):
		t.Fatalf("ymera %s not ready within 60 s", role)
	}
	return p
}

func (p *roleProcess) watchStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		if strings.Contains(strings.ToLower(line), "permissions violation") {
			p.violations = append(p.violations, line)
		}
		if p.tail = append(p.tail, line); len(p.tail) > 50 {
			p.tail = p.tail[1:]
		}
		p.mu.Unlock()
	}
}

// permissionViolations returns the permissions violations logged so far.
func (p *roleProcess) permissionViolations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.violations...)
}
