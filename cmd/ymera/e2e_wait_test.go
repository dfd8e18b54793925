package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ymera/ymera/actors"
)

// TestWaitedTaskMatchesRead: the task a waiting POST /tasks?wait= answers
// with is, byte for byte, what a later GET /tasks/{id} returns, whatever
// the parameters and result hold. On the embedded store the answer's row
// is built from the task the runtime ran rather than read back
// (docs/performance.md, step 26), so this is where the two must agree:
// parameters as the client wrote them (spaced, escaped, with characters
// the task's message escapes), a result with the same, several rounds so
// that the later ones are kept while the gateway asks for ended tasks.
func TestWaitedTaskMatchesRead(t *testing.T) {
	t.Parallel()
	kind := actors.Kind{
		Name:      "echo",
		TaskTypes: []string{"echo_job"},
		New: func() actors.Agent {
			return agentFunc(func(_ context.Context, tk actors.Task) (actors.Result, error) {
				// The parameters back inside a result with text of its own.
				return actors.Result{Output: json.RawMessage(`{"z": "a < b && c > d", "a": [1.50, 2e1], "echo": ` +
					string(tk.Parameters) + `}`)}, nil
			})
		},
	}
	_, a := startTestSystem(t, testConfig(t, nil), kind)
	a.signUp()
	params := []string{
		`{"b": 2, "a": 1}`,
		`{"code": "if a < b && c > d { return }", "x": "\u00e9\u003c"}`,
		`{"s": "line\u2028separator", "n": [1.0, 1e3, -0]}`,
		`{"plain":"yes"}`,
	}
	for round := range 3 {
		for _, p := range params {
			body := []byte(`{"name": "echo <" , "task_type": "echo_job", "parameters": ` + p + `}`)
			status, out, _ := a.do(http.MethodPost, "/tasks?wait=10s", body)
			if status != http.StatusCreated {
				t.Fatalf("POST ?wait: %d %s", status, out)
			}
			var answer struct {
				TaskID string          `json:"task_id"`
				Task   json.RawMessage `json:"task"`
			}
			if err := json.Unmarshal(out, &answer); err != nil || len(answer.Task) == 0 {
				t.Fatalf("POST ?wait answered %s (%v), want the ended task in it", out, err)
			}
			status, read, _ := a.do(http.MethodGet, "/tasks/"+answer.TaskID, nil)
			if status != http.StatusOK {
				t.Fatalf("GET: %d %s", status, read)
			}
			if !bytes.Equal(answer.Task, bytes.TrimSpace(read)) {
				t.Errorf("round %d, parameters %s: the waited answer\n%s\ndiffers from the read\n%s", round, p, answer.Task, read)
			}
		}
	}
}
