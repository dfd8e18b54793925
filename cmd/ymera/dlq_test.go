package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDLQCommand runs "ymera dlq list" and "ymera dlq replay" against a
// stand-in gateway and checks the requests and the output.
func TestDLQCommand(t *testing.T) {
	t.Parallel()
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && r.URL.Path == "/admin/dlq":
			_, _ = w.Write([]byte(`[{"task_id":"0190a7e4-0000-7000-8000-000000000001","task_type":"security_scan",` +
				`"reason":"delivered 5 times","dead_at":"2026-01-02T03:04:05Z","deliveries":5}]`))
		case r.Method == "POST" && r.URL.Path == "/admin/dlq/0190a7e4-0000-7000-8000-000000000001/replay":
			_, _ = w.Write([]byte(`{"task_id":"0190a7e4-0000-7000-8000-000000000001","status":"queued"}`))
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"status":404,"detail":"no dead letter for task \"x\""}`))
		}
	}))
	t.Cleanup(srv.Close)
	getenv := func(k string) (string, bool) {
		if k == "YMERA_TOKEN" {
			return "tok", true
		}
		return "", false
	}
	runCmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(args, "--url", srv.URL), getenv, &out, &errOut)
		return out.String(), err
	}

	out, err := runCmd("dlq", "list", "--limit", "7")
	if err != nil || !strings.Contains(out, "0190a7e4-0000-7000-8000-000000000001") || !strings.Contains(out, "delivered 5 times") {
		t.Errorf("dlq list: %v\n%s", err, out)
	}
	out, err = runCmd("dlq", "replay", "0190a7e4-0000-7000-8000-000000000001")
	if err != nil || !strings.Contains(out, "queued") {
		t.Errorf("dlq replay: %v\n%s", err, out)
	}
	_, err = runCmd("dlq", "replay", "x")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("dlq replay of nothing: %v", err)
	}
	want := []string{
		"GET /admin/dlq?limit=7 Bearer tok",
		"POST /admin/dlq/0190a7e4-0000-7000-8000-000000000001/replay Bearer tok",
		"POST /admin/dlq/x/replay Bearer tok",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
