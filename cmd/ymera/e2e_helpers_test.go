package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/pflag"

	"github.com/ymera/ymera/actors"
)

// mapEnv turns a map into the getenv run and loadConfig take.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// testConfig loads the configuration a test asks for, on a fresh DATA_DIR
// and a random port unless it says otherwise.
func testConfig(t testing.TB, env map[string]string) Config {
	t.Helper()
	full := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "WARNING"}
	for k, v := range env {
		full[k] = v
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addConfigFlags(fs)
	cfg, err := loadConfig(fs, mapEnv(full))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// testLogger writes through t.Log so output shows only for failing tests.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startTestSystem starts a whole system in-process with the given kinds.
func startTestSystem(t testing.TB, cfg Config, kinds ...actors.Kind) (*system, *apiClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := startSystem(ctx, cfg, testLogger(t), kinds)
	if err != nil {
		t.Fatalf("start system: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.close(ctx)
	})
	return s, &apiClient{t: t, base: "http://" + s.addr(), c: &http.Client{Timeout: 10 * time.Second}}
}

// waitListening reads a serve process's stdout until its listening line.
func waitListening(t testing.TB, r io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "ymera: listening on "); ok {
				found <- u
				// Keep draining so the process never blocks on a full pipe.
				for sc.Scan() {
				}
				return
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatal("serve exited before listening")
		}
		return u
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start listening within 60 s")
	}
	return ""
}

// apiClient speaks the gateway's HTTP API for tests.
type apiClient struct {
	t     testing.TB
	base  string
	c     *http.Client
	token string
}

// do sends a request and returns the status and body.
func (a *apiClient) do(method, path string, body any) (int, []byte, http.Header) {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp.StatusCode, out, resp.Header
}

// mustJSON sends a request, requires the status, and decodes the body.
func (a *apiClient) mustJSON(method, path string, body any, want int, out any) {
	a.t.Helper()
	status, b, _ := a.do(method, path, body)
	if status != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// signUp registers a fresh user and keeps its token.
func (a *apiClient) signUp() string {
	a.t.Helper()
	name := "u" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	var out struct {
		AccessToken string `json:"access_token"`
		UserID      string `json:"user_id"`
	}
	a.mustJSON(http.MethodPost, "/auth/register", map[string]string{
		"username": name, "email": name + "@example.com", "password": "SecurePass123!",
	}, http.StatusCreated, &out)
	a.token = out.AccessToken
	return out.UserID
}

// submit posts a task and returns its id.
func (a *apiClient) submit(taskType string, params any) string {
	a.t.Helper()
	var out struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
	}
	a.mustJSON(http.MethodPost, "/tasks", map[string]any{
		"name": "test " + taskType, "task_type": taskType, "parameters": params,
	}, http.StatusCreated, &out)
	if out.Status != "created" || out.TaskID == "" {
		a.t.Fatalf("submit: unexpected answer %+v", out)
	}
	return out.TaskID
}

// taskView is the part of GET /tasks/{id} the tests read.
type taskView struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	Result       json.RawMessage `json:"result"`
	ErrorMessage string          `json:"error_message"`
	Attempts     int             `json:"attempts"`
	CreatedAt    time.Time       `json:"created_at"`
}

// waitFinal polls a task until it is final or the timeout passes.
func (a *apiClient) waitFinal(id string, timeout time.Duration) taskView {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// The gateway holds the request until the task ends (or the wait
		// is over), so this loop turns only on a long task.
		wait := max(min(time.Until(deadline), 5*time.Second), 0).Round(time.Millisecond)
		var tv taskView
		a.mustJSON(http.MethodGet, "/tasks/"+id+"?wait="+wait.String(), nil, http.StatusOK, &tv)
		if actors.Status(tv.Status).Final() {
			return tv
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("task %s still %s after %s", id, tv.Status, timeout)
		}
	}
}
