package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/internal/jsonfast"
)

// benchParams are the parameters of every bench task: none for bench_noop,
// a small file for agents that want one.
func benchParams(taskType string) json.RawMessage {
	if taskType == "bench_noop" {
		return json.RawMessage(`{}`)
	}
	b, _ := json.Marshal(map[string]any{
		"files": []map[string]string{{"path": "main.py", "content": "import os\nprint(os.getenv('HOME'))\n"}},
	})
	return b
}

// benchBody is the request every HTTP bench submission sends.
func benchBody(taskType string) []byte {
	b, _ := json.Marshal(map[string]any{"name": "bench", "task_type": taskType, "parameters": benchParams(taskType)})
	return b
}

// benchUser registers a throwaway user and returns its token and id.
func benchUser(ctx context.Context, c *fasthttp.Client, base string) (token, userID string, err error) {
	name := "bench_" + strings.ReplaceAll(uuid.NewString()[:12], "-", "")
	body, _ := json.Marshal(map[string]string{
		"username": name, "email": name + "@bench.invalid", "password": "bench-" + uuid.NewString(),
	})
	var out struct {
		AccessToken string `json:"access_token"`
		UserID      string `json:"user_id"`
	}
	if err := doJSON(ctx, c, http.MethodPost, base+"/auth/register", "", body, http.StatusCreated, &out); err != nil {
		return "", "", fmt.Errorf("bench: register: %w", err)
	}
	return out.AccessToken, out.UserID, nil
}

func benchSubmit(ctx context.Context, c *fasthttp.Client, base, token string, body []byte) (string, error) {
	out := answerMember{key: "task_id"}
	if err := doJSON(ctx, c, http.MethodPost, base+"/tasks", token, body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	return out.value, nil
}

// benchSubmitWait submits a task and waits for it in the same request, POST
// /tasks?wait=pollWait, and reports whether the answer's task had ended. A
// server that does not wait answers without task: ended is false, and the
// caller polls.
func benchSubmitWait(ctx context.Context, c *fasthttp.Client, base, token string, body []byte) (id string, ended bool, err error) {
	var out submitAnswer
	if err := doJSON(ctx, c, http.MethodPost, base+"/tasks?wait="+pollWait, token, body, http.StatusCreated, &out); err != nil {
		return "", false, err
	}
	return out.id, actors.Status(out.status).Final(), nil
}

// submitAnswer is what the bench reads of a POST /tasks answer: its task_id
// and, after a ?wait=, the status of its task member, read as
// answerMember reads (the task's parameters and result are skipped whole).
type submitAnswer struct{ id, status string }

func (a *submitAnswer) decode(b []byte) error {
	*a = submitAnswer{}
	var task []byte
	sure := jsonfast.WalkObject(b, func(k []byte, i int) (int, bool) {
		end, ok := jsonfast.SkipValue(b, i)
		switch string(k) {
		case "task_id":
			s, e, plain := jsonfast.ScanPlainString(b, i)
			a.id, ok = string(b[s:e]), ok && plain
		case "task":
			task = b[i:end]
		}
		return end, ok
	})
	if task != nil {
		a.status, _ = topLevelString(task, "status")
	}
	if sure && a.id != "" {
		return nil
	}
	var m struct {
		TaskID string `json:"task_id"`
		Task   *struct {
			Status string `json:"status"`
		} `json:"task"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	a.id, a.status = m.TaskID, ""
	if m.Task != nil {
		a.status = m.Task.Status
	}
	return nil
}

// answerMember is one string member of an answer's top level, the one
// thing the bench needs from it: the task_id of a POST /tasks answer, the
// status of a GET /tasks/{id} answer. It is read with topLevelString, not
// decoded: a --url run reads two answers per task, and json.Unmarshal of a
// GET answer, which carries the whole task, was ~13 % of the client's CPU.
// Anything topLevelString is unsure of goes through encoding/json.
type answerMember struct{ key, value string }

func (a *answerMember) decode(b []byte) error {
	if v, ok := topLevelString(b, a.key); ok {
		a.value = v
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	a.value = ""
	if raw, ok := m[a.key]; ok {
		return json.Unmarshal(raw, &a.value)
	}
	return nil
}

// pollWait is the ?wait= of each POST /tasks that benchSubmitWait sends and
// of each GET /tasks/{id} that pollTask sends: the gateway answers as soon
// as the task ends, so a task costs one request, not one per poll. A
// server that ignores the parameter answers at once and is polled with the
// backoff instead.
const pollWait = "10s"

// pollTask waits for a task to become final when no event stream is at hand.
func pollTask(ctx context.Context, c *fasthttp.Client, base, token, id string, done func(string, time.Time)) {
	delay := time.Millisecond
	for ctx.Err() == nil {
		t := answerMember{key: "status"}
		if err := doJSON(ctx, c, http.MethodGet, base+"/tasks/"+id+"?wait="+pollWait, token, nil, http.StatusOK, &t); err == nil &&
			actors.Status(t.value).Final() {
			done(id, time.Now())
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
}

// topLevelString returns the value of the member key of the JSON object b
// when it is a string without escapes, walking only the top level: the
// members before it (YMERA's "parameters", River's "result") are skipped
// whole, so a "status" inside them is not taken for the task's. It reports
// false for anything else, including JSON it does not follow; it does not
// validate what it skips.
func topLevelString(b []byte, key string) (value string, found bool) {
	jsonfast.WalkObject(b, func(k []byte, i int) (int, bool) {
		if string(k) != key {
			return jsonfast.SkipValue(b, i)
		}
		if s, e, ok := jsonfast.ScanPlainString(b, i); ok {
			value, found = string(b[s:e]), true
		}
		return 0, false // stop: the rest does not matter
	})
	return value, found
}

// newBenchClient is the load generator's HTTP client, with a connection for
// each of the run's connections and some to spare. It is fasthttp's, not
// net/http's: the client shares the machine with the system it measures, and
// at 64 connections net/http's client took ~16 % of the bench process's CPU
// (its per-connection read and write goroutines, per-request allocations).
func newBenchClient(conns int) *fasthttp.Client {
	return &fasthttp.Client{
		MaxConnsPerHost:          conns + 8,
		MaxConnWaitTimeout:       10 * time.Second,
		MaxIdleConnDuration:      time.Minute,
		NoDefaultUserAgentHeader: true,
	}
}

// doJSON sends one request and decodes the answer into out, failing unless
// the status is want. ctx's deadline, or a minute, bounds it.
func doJSON(ctx context.Context, c *fasthttp.Client, method, url, token string, body []byte, want int, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	if err := c.DoDeadline(req, resp, deadline); err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode() != want {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode(), bytes.TrimSpace(resp.Body()))
	}
	if d, ok := out.(interface{ decode([]byte) error }); ok {
		return d.decode(resp.Body())
	}
	if out != nil {
		return json.Unmarshal(resp.Body(), out)
	}
	return nil
}

// rssMB reads this process's resident set size (Linux), or 0 elsewhere.
func rssMB() float64 { return procStatusMB("VmRSS:") }

// peakRSSMB reads this process's peak resident set size (Linux), or 0.
func peakRSSMB() float64 { return procStatusMB("VmHWM:") }

func procStatusMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
