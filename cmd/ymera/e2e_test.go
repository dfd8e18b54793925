package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ymera/ymera/actors"
)

// TestServeWalkthrough runs `ymera serve` through run, as main does, with no
// configuration but a temporary DATA_DIR and a random port, and follows the
// README's walk-through.
func TestServeWalkthrough(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	getenv := mapEnv(map[string]string{"DATA_DIR": t.TempDir(), "LOG_LEVEL": "ERROR"})
	go func() {
		done <- run(ctx, []string{"serve", "--http-addr", "127.0.0.1:0"}, getenv, pw, io.Discard)
		pw.Close()
	}()
	base := waitListening(t, pr)
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after interrupt, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s of the interrupt")
		}
	}()

	a := &apiClient{t: t, base: base, c: &http.Client{Timeout: 10 * time.Second}}
	a.signUp()

	// A security scan finds the access key, with file, line, rule and severity.
	id := a.submit("security_scan", map[string]any{"files": []map[string]string{
		{"path": "settings.py", "content": "import os\nAWS_ACCESS_KEY_ID = \"AKIA4Q2WXV7RJ6M3KZ5T\"\n"},
	}})
	tv := a.waitFinal(id, 30*time.Second)
	if tv.Status != "completed" {
		t.Fatalf("security scan ended %s (%s)", tv.Status, tv.ErrorMessage)
	}
	var scan struct {
		Findings []struct {
			File, Rule, Severity, Message string
			Line                          int
		} `json:"findings"`
	}
	if err := json.Unmarshal(tv.Result, &scan); err != nil {
		t.Fatalf("result %s: %v", tv.Result, err)
	}
	found := false
	for _, f := range scan.Findings {
		if f.File == "settings.py" && f.Line == 2 && strings.Contains(f.Rule, "aws") {
			found = true
			if strings.Contains(f.Message, "AKIA4Q2WXV7RJ6M3KZ5T") {
				t.Errorf("finding message leaks the secret: %q", f.Message)
			}
		}
	}
	if !found {
		t.Fatalf("no AWS key finding on settings.py:2 in %s", tv.Result)
	}

	// A documentation check reports coverage.
	id = a.submit("documentation_check", map[string]any{"files": []map[string]string{
		{"path": "lib.go", "content": "// Package lib is documented.\npackage lib\n\n// A is documented.\nfunc A() {}\n\nfunc B() {}\n"},
	}})
	tv = a.waitFinal(id, 30*time.Second)
	var cov struct {
		Coverage   float64 `json:"coverage"`
		Documented int     `json:"documented"`
		Total      int     `json:"total"`
	}
	if err := json.Unmarshal(tv.Result, &cov); err != nil || tv.Status != "completed" {
		t.Fatalf("documentation check: %s %s %v", tv.Status, tv.Result, err)
	}
	if cov.Total != 3 || cov.Documented != 2 {
		t.Errorf("documentation check counted %d/%d, want 2/3 (package, A documented; B not)", cov.Documented, cov.Total)
	}

	// The task list holds both, newest first.
	var list []taskView
	a.mustJSON(http.MethodGet, "/tasks?status=completed", nil, http.StatusOK, &list)
	if len(list) != 2 || list[0].ID != id {
		t.Errorf("GET /tasks: %d tasks, first %q; want 2 with %s first", len(list), list[0].ID, id)
	}

	var health struct {
		Status     string `json:"status"`
		Components map[string]struct {
			Status string `json:"status"`
		} `json:"components"`
	}
	a.mustJSON(http.MethodGet, "/health", nil, http.StatusOK, &health)
	if health.Status != "healthy" || health.Components["database"].Status != "healthy" || health.Components["nats"].Status != "healthy" {
		t.Errorf("health: %+v", health)
	}

	// The metrics count both tasks through the group commit writers. A
	// writer reports a statement once it returns, which a reader of the
	// committed row can just beat: ask again for a moment, slowly enough
	// for the rate limit.
	want := []string{`ymera_group_commit_items_sum{op="enqueue"} 2`, `ymera_group_commit_items_sum{op="finish"} 2`,
		`ymera_group_commit_failures_total{op="finish"} 0`}
	var missing []string
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		status, body, _ := a.do(http.MethodGet, "/metrics", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /metrics: %d %s", status, body)
		}
		missing = missing[:0]
		for _, line := range want {
			if !strings.Contains(string(body), "\n"+line+"\n") {
				missing = append(missing, line)
			}
		}
		if len(missing) == 0 || time.Now().After(end) {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("GET /metrics lacks %q", missing)
	}
}

// TestSubmissionErrors checks the answers to bad submissions end to end.
func TestSubmissionErrors(t *testing.T) {
	t.Parallel()
	_, a := startTestSystem(t, testConfig(t, nil), mustKinds(t, "security", "documentation")...)
	a.signUp()

	cases := []struct {
		name   string
		body   string
		status int
		detail []string // substrings of the problem's detail (or whole body)
	}{
		{"unknown task type", `{"name":"x","task_type":"translate_poem"}`, 422,
			[]string{"translate_poem", "documentation_check", "security_scan"}},
		{"malformed JSON", `{"name":"x","task_type":`, 400, nil},
		{"missing task_type", `{"name":"x"}`, 400, []string{"task_type"}},
		{"missing name", `{"task_type":"security_scan"}`, 400, []string{"name"}},
		{"bad priority", `{"name":"x","task_type":"security_scan","priority":"urgent"}`, 400, []string{"urgent"}},
	}
	for _, tc := range cases {
		status, body, hdr := a.do(http.MethodPost, "/tasks", tc.body)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, status, tc.status, body)
			continue
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%s: content type %q, want application/problem+json", tc.name, ct)
		}
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Status != tc.status || p.Type == "" || p.Title == "" {
			t.Errorf("%s: not a problem-details body: %s", tc.name, body)
		}
		for _, s := range tc.detail {
			if !strings.Contains(string(body), s) {
				t.Errorf("%s: body does not mention %q: %s", tc.name, s, body)
			}
		}
	}

	// No token at all.
	anon := &apiClient{t: t, base: a.base, c: a.c}
	status, _, hdr := anon.do(http.MethodPost, "/tasks", `{"name":"x","task_type":"security_scan"}`)
	if status != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: status %d, WWW-Authenticate %q", status, hdr.Get("WWW-Authenticate"))
	}
}

// TestAgentPanicRestartsActor makes an agent panic in the middle of a task:
// the process lives, the actor restarts, the task completes on redelivery,
// and it has exactly one result.
func TestAgentPanicRestartsActor(t *testing.T) {
	t.Parallel()
	var (
		mu        sync.Mutex
		calls     = map[string]int{}
		completed atomic.Int64
		instances atomic.Int64
	)
	kind := actors.Kind{
		Name:      "flaky",
		TaskTypes: []string{"flaky_job"},
		New: func() actors.Agent {
			instances.Add(1)
			return agentFunc(func(ctx context.Context, tk actors.Task) (actors.Result, error) {
				mu.Lock()
				calls[tk.ID]++
				n := calls[tk.ID]
				mu.Unlock()
				if n == 1 {
					panic("flaky agent: first attempt crashes mid-task")
				}
				completed.Add(1)
				return actors.JSONResult(map[string]any{"call": n})
			})
		},
	}
	cfg := testConfig(t, map[string]string{"AGENT_WORKERS": "2"})
	s, a := startTestSystem(t, cfg, kind)
	a.signUp()

	ids := []string{a.submit("flaky_job", nil), a.submit("flaky_job", nil), a.submit("flaky_job", nil)}
	for _, id := range ids {
		tv := a.waitFinal(id, 60*time.Second)
		if tv.Status != "completed" {
			t.Fatalf("task %s ended %s: %s", id, tv.Status, tv.ErrorMessage)
		}
		if string(tv.Result) != `{"call":2}` {
			t.Errorf("task %s result %s, want the second call's", id, tv.Result)
		}
		if tv.Attempts != 2 {
			t.Errorf("task %s attempts %d, want 2 (crash, then success)", id, tv.Attempts)
		}
	}
	if got := completed.Load(); got != int64(len(ids)) {
		t.Errorf("agent completed %d times for %d tasks", got, len(ids))
	}
	// Every crash made a fresh agent instance: 2 at start + 3 restarts.
	if got := instances.Load(); got < 5 {
		t.Errorf("%d agent instances made, want at least 5 (each crash restarts its actor)", got)
	}
	for _, p := range s.node.Pools() {
		if st := p.Stats(); st.Restarts < 3 {
			t.Errorf("pool %s counted %d restarts, want ≥ 3", p.Name(), st.Restarts)
		}
	}
	// Still serving.
	a.mustJSON(http.MethodGet, "/health", nil, http.StatusOK, nil)
}

// TestConfigErrorStopsStartup: an invalid value stops `serve` with one line
// naming the variable, the value and what was expected.
func TestConfigErrorStopsStartup(t *testing.T) {
	t.Parallel()
	getenv := mapEnv(map[string]string{"DATA_DIR": t.TempDir(), "AGENT_MAX_RETRIES": "lots"})
	err := run(context.Background(), []string{"serve"}, getenv, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started with AGENT_MAX_RETRIES=lots")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "AGENT_MAX_RETRIES") || !strings.Contains(msg, "lots") {
		t.Errorf("error is not one line naming the variable and value: %q", msg)
	}
	err = run(context.Background(), []string{"serve"}, mapEnv(map[string]string{
		"DATA_DIR": t.TempDir(), "AGENT_KINDS": "security,poetry",
	}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "poetry") {
		t.Errorf("unknown agent kind: %v", err)
	}
}

type agentFunc func(context.Context, actors.Task) (actors.Result, error)

func (f agentFunc) Process(ctx context.Context, t actors.Task) (actors.Result, error) {
	return f(ctx, t)
}

func mustKinds(t testing.TB, names ...string) []actors.Kind {
	t.Helper()
	ks, err := selectKinds(names)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestMetricsDocumented fails when GET /metrics, once a task has run,
// exports a metric that docs/architecture.md's "Metrics" table does not
// list. The Go runtime and process collectors (go_*, process_*) are
// Prometheus's own and documented there as such.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Metrics\n")
	if !ok {
		t.Fatal(`docs/architecture.md has no "## Metrics" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")

	_, a := startTestSystem(t, testConfig(t, nil), benchNoopKind())
	a.signUp()
	if tv := a.waitFinal(a.submit("bench_noop", map[string]any{}), 30*time.Second); tv.Status != "completed" {
		t.Fatalf("task ended %s", tv.Status)
	}
	status, body, _ := a.do(http.MethodGet, "/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name := range families {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		checked++
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("metric %s is exported but not in docs/architecture.md, \"Metrics\"", name)
		}
	}
	if checked == 0 {
		t.Fatal("GET /metrics exported none of YMERA's own metrics")
	}
}
