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
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/ymera/ymera/actors"
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
	var out submitAnswer
	if err := doJSON(ctx, c, http.MethodPost, base+"/tasks", token, body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	return out.taskID, nil
}

// submitAnswer is the answer to POST /tasks, whose task_id the bench reads
// where YMERA writes it, as benchEventFields does: the body's members are
// "$schema", "task_id" and "status", so the first unescaped "task_id" is
// the top-level one. Anything else goes through encoding/json.
type submitAnswer struct{ taskID string }

func (a *submitAnswer) decode(b []byte) error {
	if id, ok := plainMember(b, `"task_id":"`); ok {
		a.taskID = id
		return nil
	}
	var v struct {
		TaskID string `json:"task_id"`
	}
	err := json.Unmarshal(b, &v)
	a.taskID = v.TaskID
	return err
}

// pollWait is the ?wait= of each GET /tasks/{id} that pollTask sends: the
// gateway answers as soon as the task ends, so a task costs one GET, not
// one per poll. A server that ignores the parameter answers at once and is
// polled with the backoff instead.
const pollWait = "10s"

// pollTask waits for a task to become final when no event stream is at hand.
func pollTask(ctx context.Context, c *fasthttp.Client, base, token, id string, done func(string, time.Time)) {
	delay := time.Millisecond
	for ctx.Err() == nil {
		var t statusAnswer
		if err := doJSON(ctx, c, http.MethodGet, base+"/tasks/"+id+"?wait="+pollWait, token, nil, http.StatusOK, &t); err == nil &&
			actors.Status(t.status).Final() {
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

// statusAnswer is the status of a GET /tasks/{id} answer. It is read with
// topLevelString, not decoded: a --url run reads one answer per task, and
// json.Unmarshal of YMERA's, which carries the whole task, was ~13 % of the
// client's CPU. Anything topLevelString is unsure of goes through
// encoding/json.
type statusAnswer struct{ status string }

func (a *statusAnswer) decode(b []byte) error {
	if st, ok := topLevelString(b, "status"); ok {
		a.status = st
		return nil
	}
	var v struct {
		Status string `json:"status"`
	}
	err := json.Unmarshal(b, &v)
	a.status = v.Status
	return err
}

// topLevelString returns the value of the member key of the JSON object b
// when it is a string without escapes, walking only the top level: the
// members before it (YMERA's "parameters", River's "result") are skipped
// whole, so a "status" inside them is not taken for the task's. It reports
// false for anything else, including JSON it does not follow; it does not
// validate what it skips.
func topLevelString(b []byte, key string) (string, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	for i++; ; i++ {
		// At a member: its key, a colon, its value.
		i = skipSpace(b, i)
		k, next, ok := plainString(b, i)
		if !ok {
			return "", false
		}
		if i = skipSpace(b, next); i >= len(b) || b[i] != ':' {
			return "", false
		}
		i = skipSpace(b, i+1)
		if k == key {
			v, _, ok := plainString(b, i)
			return v, ok
		}
		if i, ok = skipValue(b, i); !ok {
			return "", false
		}
		if i = skipSpace(b, i); i >= len(b) || b[i] != ',' {
			return "", false // the end of the object, or not JSON: key is not here
		}
	}
}

// plainString reads the string starting at b[i] when it holds no escape
// and is valid UTF-8 (encoding/json would replace a bad byte), and returns
// it and the index after its closing quote.
func plainString(b []byte, i int) (s string, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	end := bytes.IndexByte(b[i+1:], '"')
	if end < 0 || bytes.IndexByte(b[i+1:i+1+end], '\\') >= 0 || !utf8.Valid(b[i+1:i+1+end]) {
		return "", i, false
	}
	return string(b[i+1 : i+1+end]), i + end + 2, true
}

// skipValue returns the index after the value starting at b[i]: a string,
// an object or array (nesting and the strings in it followed), or a
// literal or number (up to the next delimiter).
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return i, false
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, true // a literal ended by its object's close
			}
			depth--
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i, true
			}
		}
		if depth == 0 && (b[i] == '"' || b[i] == '}' || b[i] == ']') {
			return i + 1, true
		}
	}
	return i, depth == 0
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
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
