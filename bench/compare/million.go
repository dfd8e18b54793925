package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ymera/ymera/internal/benchkit"
)

// The two rows of the target table that need a million tasks are measured
// last, by the procedures of docs/performance.md ("Measurements", sections
// 1 and 2), each on a `ymera serve` of its own: a page of GET /tasks over a
// million rows (bench/listtasks seeds them and times the pages), and the
// serve process's RSS while a million tasks sit queued with no agent to
// take them (bench/natsflood publishes them).

const (
	millionTasks = 1_000_000
	// listPages is how many pages each user and status is timed over.
	listPages = 1000
	// queuedRest is how long after the last publish RSS is read at rest.
	queuedRest = 30 * time.Second
)

// millionRows measures both rows.
func millionRows(ctx context.Context, o options) ([]printedRow, error) {
	list, err := listRow(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("GET /tasks with a million rows: %w", err)
	}
	queued, err := queuedRow(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("a million tasks queued: %w", err)
	}
	return []printedRow{list, queued}, nil
}

// listRow seeds a million task rows on PostgreSQL, owned by five users,
// and times the first page of GET /tasks?status= for one of them and for an
// administrator, for the most common status and a rare one. The row holds
// the worst p99.
func listRow(ctx context.Context, o options) (printedRow, error) {
	row := printedRow{targetRow: targetRow{measure: "GET /tasks with 1,000,000 rows, p99", target: "≤ 20 ms"}}
	dsn, drop, err := createDatabase(ctx, o.server, "ymera_list_")
	if err != nil {
		return row, err
	}
	defer drop()
	password := "list-" + randomHex(8)
	srv, err := startServe(ctx, o, "DATABASE_URL="+dsn, "NATS_LISTEN=",
		"ADMIN_USERNAME=list_admin", "ADMIN_PASSWORD="+password)
	if err != nil {
		return row, err
	}
	defer srv.stop()
	var owners []string
	for i := range 5 {
		u, err := register(ctx, srv.url, fmt.Sprintf("list_user%d", i+1), password)
		if err != nil {
			return row, err
		}
		owners = append(owners, u.UserID)
	}
	start := time.Now()
	if _, err := runHelper(ctx, o.listtasks, "seed", "-dsn", dsn, "-rows", strconv.Itoa(millionTasks),
		"-owners", strings.Join(owners, ",")); err != nil {
		return row, err
	}
	fmt.Printf("million  seeded %d task rows in %s\n", millionTasks, time.Since(start).Round(100*time.Millisecond))
	worst := 0.0
	for _, status := range []string{"completed", "queued"} {
		for _, user := range []string{"list_user1", "list_admin"} {
			out, err := runHelper(ctx, o.listtasks, "measure", "-url", srv.url, "-user", user, "-password", password,
				"-status", status, "-n", strconv.Itoa(listPages))
			if err != nil {
				return row, err
			}
			p99, err := listP99(out)
			if err != nil {
				return row, err
			}
			fmt.Printf("million  %s", out)
			worst = max(worst, p99)
		}
	}
	row.measured = ms(worst)
	row.met = worst <= 20
	row.cpu = fmt.Sprintf("worst of 4: a user and an admin, ?status=completed and queued, %d pages each", listPages)
	return row, nil
}

// p99Field is the p99 in bench/listtasks's report line.
var p99Field = regexp.MustCompile(`\bp99=([0-9.]+)ms\b`)

// listP99 reads the p99, in milliseconds, from bench/listtasks's report.
func listP99(out string) (float64, error) {
	m := p99Field.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no p99 in bench/listtasks's report %q", strings.TrimSpace(out))
	}
	return strconv.ParseFloat(m[1], 64)
}

// queuedRow starts a node on SQLite with no agents, publishes a million
// tasks straight to its NATS, and samples the process's RSS throughout.
// The row holds RSS at rest, queuedRest after the last publish, and the
// peak since the first publish beside it; the API must still answer.
func queuedRow(ctx context.Context, o options) (printedRow, error) {
	row := printedRow{targetRow: targetRow{measure: "RSS with 1,000,000 tasks queued", target: "≤ 300 MB"}}
	natsPort, err := freePort()
	if err != nil {
		return row, err
	}
	srv, err := startServe(ctx, o, "DATABASE_URL=", "NATS_LISTEN=127.0.0.1:"+natsPort)
	if err != nil {
		return row, err
	}
	defer srv.stop()
	u, err := register(ctx, srv.url, "queued_user", "queued-"+randomHex(8))
	if err != nil {
		return row, err
	}
	if _, ok := rssMB(srv.cmd.Process.Pid); !ok {
		row.measured, row.cpu = "-", "needs Linux's /proc to read RSS"
		return row, nil
	}
	var peak sampler
	defer peak.every(srv.cmd.Process.Pid, 200*time.Millisecond)()
	start := time.Now()
	out, err := runHelper(ctx, o.natsflood, "-nats", "nats://127.0.0.1:"+natsPort, "-n", strconv.Itoa(millionTasks), "-user", u.UserID)
	if err != nil {
		return row, err
	}
	published := time.Since(start)
	fmt.Printf("million  %s", lastLine(out))
	select {
	case <-time.After(queuedRest):
	case <-ctx.Done():
		return row, ctx.Err()
	}
	rest, _ := rssMB(srv.cmd.Process.Pid)
	answered, err := apiAnswers(ctx, srv.url, u.AccessToken)
	if err != nil {
		return row, err
	}
	fmt.Printf("million  published in %s; RSS %.0f MB %s after, peak %.0f MB since the first publish; %s\n",
		published.Round(100*time.Millisecond), rest, queuedRest, peak.max(), answered)
	row.measured = fmt.Sprintf("%.0f MB", rest)
	row.met = rest <= 300
	row.cpu = fmt.Sprintf("at rest %s after the last publish; peak %.0f MB since the first; API answering", queuedRest, peak.max())
	return row, nil
}

// served is a `ymera serve` started for one measurement.
type served struct {
	cmd  *exec.Cmd
	url  string
	stop func()
}

// startServe starts `ymera serve` with no agents and no rate limit in a
// temporary DATA_DIR, with env on top, and waits until it answers.
func startServe(ctx context.Context, o options, env ...string) (*served, error) {
	dataDir, err := os.MkdirTemp("", "ymera-million-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	cmd := exec.Command(o.ymera, "serve")
	cmd.Dir = dataDir // no stray .env is read
	cmd.Env = append(append(os.Environ(),
		"DATA_DIR="+dataDir, "HTTP_ADDR=127.0.0.1:"+port, "AGENT_KINDS=", "RATE_LIMIT_ENABLED=false",
		"JWT_SECRET_KEY="+randomHex(32), "LOG_LEVEL=WARNING", "NATS_URL="), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("start ymera serve: %w", err)
	}
	s := &served{cmd: cmd, url: "http://127.0.0.1:" + port, stop: func() {
		stopProcess(cmd)
		os.RemoveAll(dataDir)
	}}
	if err := waitReady(ctx, s.url+"/health", time.Minute); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// registered is the answer of POST /auth/register.
type registered struct {
	AccessToken string `json:"access_token"`
	UserID      string `json:"user_id"`
}

func register(ctx context.Context, base, username, password string) (registered, error) {
	var u registered
	body, _ := json.Marshal(map[string]string{"username": username, "email": username + "@bench.invalid", "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/register", bytes.NewReader(body))
	if err != nil {
		return u, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return u, fmt.Errorf("register %s: %w", username, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return u, fmt.Errorf("register %s: status %d: %s", username, resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, &u); err != nil || u.UserID == "" || u.AccessToken == "" {
		return u, fmt.Errorf("register %s: unexpected answer %s", username, bytes.TrimSpace(b))
	}
	return u, nil
}

// apiAnswers asks GET /health and GET /tasks?status=queued, each of which
// must answer 200, and says how long each took.
func apiAnswers(ctx context.Context, base, token string) (string, error) {
	var took []string
	for _, path := range []string{"/health", "/tasks?status=queued"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", fmt.Errorf("GET %s: %w", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: status %d with a million tasks queued", path, resp.StatusCode)
		}
		took = append(took, fmt.Sprintf("GET %s 200 in %s", path, time.Since(start).Round(100*time.Microsecond)))
	}
	return strings.Join(took, ", "), nil
}

// runHelper runs a helper binary and returns its standard output; a failure
// carries its standard error.
func runHelper(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := benchkit.Command(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", bin, args[0], err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// lastLine is the last line of out, with its newline.
func lastLine(out string) string {
	out = strings.TrimRight(out, "\n")
	return out[strings.LastIndexByte(out, '\n')+1:] + "\n"
}

// rssMB reads a process's resident set from /proc, in MiB, as `ymera
// bench` reports its own.
func rssMB(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}

// sampler keeps the largest RSS it has read.
type sampler struct {
	mu   sync.Mutex
	peak float64
}

// every reads pid's RSS each interval until the returned stop is called.
func (s *sampler) every(pid int, interval time.Duration) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if mb, ok := rssMB(pid); ok {
				s.mu.Lock()
				s.peak = max(s.peak, mb)
				s.mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}

func (s *sampler) max() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}
