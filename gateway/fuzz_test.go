package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// bodySeeds are bodies every decoder should survive.
var bodySeeds = []string{
	``,
	`{}`,
	`[]`,
	`null`,
	`"string"`,
	`12345678901234567890123456789`,
	`{"`,
	`{"a":}`,
	"\x00\xff\xfe",
	`{"username": null, "password": null}`,
	`{"username": ["a"], "email": {"x": 1}}`,
	`{"username": "\u0000\u0000\u0000", "email": "a@b.c", "password": "12345678"}`,
	`{"username": "a", "username": "b"}`,
	`{"parameters": {"deep": [[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]}}`,
	`{"name": "n", "task_type": "security_scan", "parameters": {"n": 1e400}}`,
	`{"name": "n", "task_type": "security_scan", "priority": 3}`,
	`{"name": "\ud800", "task_type": "security_scan"}`,
}

// checkNoServerError: whatever the body, the answer is never a 5xx and an
// error is always a problem.
func checkNoServerError(t *testing.T, r response) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if r.status >= 400 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("status %d with Content-Type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func FuzzRegisterDecode(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"username": "john_doe", "email": "john@example.com", "password": "SecurePass123!", "first_name": "John", "last_name": "Doe"}`))
	f.Add([]byte(`{"username": "eve", "email": "eve@example.com", "password": "SecurePass123!", "role": "admin"}`))
	f.Add([]byte(`{"username": "x y", "email": "Eve <eve@example.com>", "password": "short"}`))
	b := setup(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		checkNoServerError(t, b.do(t, req{method: "POST", path: "/auth/register", body: body}))
	})
}

func FuzzSubmitTaskDecode(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"name": "Generate API", "description": "d", "task_type": "security_scan", "parameters": {"language": "python"}, "priority": "high"}`))
	f.Add([]byte(`{"name": "n", "task_type": "unknown_type"}`))
	f.Add([]byte(`{"name": "n", "task_type": "security_scan", "priority": "urgent", "parameters": [1]}`))
	b := setup(f)
	token, _ := b.register(f, "fuzzer")
	f.Fuzz(func(t *testing.T, body []byte) {
		r := b.do(t, req{method: "POST", path: "/tasks", body: body, token: token})
		checkNoServerError(t, r)
		if r.status != http.StatusCreated && r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
}
