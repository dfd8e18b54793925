package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/store"
)

// The seed's field names, exactly.
var (
	seedTokenFields  = []string{"access_token", "token_type", "user_id"}
	seedSubmitFields = []string{"task_id", "status"}
	seedDetailFields = []string{"id", "name", "description", "task_type", "parameters", "priority", "status", "result", "created_at", "completed_at"}
	seedListFields   = []string{"id", "name", "task_type", "priority", "status", "result", "created_at", "completed_at"}
	// extraDetailFields are what GET /tasks/{id} adds to the seed's shape.
	extraDetailFields = []string{"error_message", "attempts", "max_attempts", "started_at", "updated_at", "attempt_history"}
)

func wantUUID(t *testing.T, what string, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s = %v (%T), want a string", what, v, v)
	}
	if _, err := uuid.Parse(s); err != nil {
		t.Fatalf("%s = %q is not a UUID: %v", what, s, err)
	}
	return s
}

func wantTime(t *testing.T, what string, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s = %v (%T), want an RFC 3339 string", what, v, v)
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%s = %q: %v", what, s, err)
	}
	return ts
}

func wantTokenShape(t *testing.T, m map[string]any) {
	t.Helper()
	wantKeys(t, "token response", m, seedTokenFields...)
	if m["token_type"] != "bearer" {
		t.Errorf("token_type = %v, want bearer", m["token_type"])
	}
	if tok, _ := m["access_token"].(string); strings.Count(tok, ".") != 2 {
		t.Errorf("access_token = %v, want a JWT", m["access_token"])
	}
	wantUUID(t, "user_id", m["user_id"])
}

// TestFlow walks the seed's examples: register, log in, submit, get, list.
func TestFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	reg := b.do(t, req{method: "POST", path: "/auth/register", body: `{
		"username": "john_doe", "email": "john@example.com", "password": "SecurePass123!",
		"first_name": "John", "last_name": "Doe"}`}).wantStatus(t, http.StatusCreated)
	regBody := reg.object(t)
	wantTokenShape(t, regBody)
	if ct := reg.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	userID := regBody["user_id"].(string)

	login := b.do(t, req{method: "POST", path: "/auth/login", body: `{"username": "john_doe", "password": "SecurePass123!"}`}).
		wantStatus(t, http.StatusOK).object(t)
	wantTokenShape(t, login)
	if login["user_id"] != userID {
		t.Errorf("login user_id %v, registered %v", login["user_id"], userID)
	}
	u, err := b.db.Users().Get(ctx, userID)
	must(t, err)
	if u.LastLogin == nil {
		t.Error("login did not record last_login")
	}
	if u.Role != store.RoleUser || !u.IsActive || u.FirstName != "John" || u.LastName != "Doe" || u.Email != "john@example.com" {
		t.Errorf("stored user %+v", u)
	}
	if !strings.HasPrefix(u.HashedPassword, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("stored password hash %q is not an argon2id PHC string with the configured parameters", u.HashedPassword)
	}
	token := login["access_token"].(string)

	sub := b.do(t, req{method: "POST", path: "/tasks", token: token, body: `{
		"name": "Generate API", "description": "Generate REST API for user management",
		"task_type": "security_scan", "parameters": {"language": "python", "framework": "fastapi"},
		"priority": "high"}`}).wantStatus(t, http.StatusCreated).object(t)
	wantKeys(t, "submit response", sub, seedSubmitFields...)
	if sub["status"] != "created" {
		t.Errorf("status = %v, want created", sub["status"])
	}
	id := wantUUID(t, "task_id", sub["task_id"])

	stored, err := b.db.Tasks().Get(ctx, id)
	must(t, err)
	if stored.UserID != userID || stored.Priority != actors.PriorityHigh || stored.MaxAttempts != 3 || stored.Type != "security_scan" {
		t.Errorf("stored task %+v", stored)
	}
	if v, err := uuid.Parse(id); err != nil || v.Version() != 7 {
		t.Errorf("task id %s is not a UUIDv7", id)
	}

	get := b.do(t, req{method: "GET", path: "/tasks/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	wantKeys(t, "task detail", get, append(seedDetailFields, extraDetailFields...)...)
	want := map[string]any{
		"id": id, "name": "Generate API", "description": "Generate REST API for user management",
		"task_type": "security_scan", "priority": "high", "status": "pending", "result": nil,
		"completed_at": nil, "error_message": nil, "attempts": 0.0, "max_attempts": 3.0, "started_at": nil,
		"parameters": map[string]any{"language": "python", "framework": "fastapi"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(get[k], v) {
			t.Errorf("detail %s = %#v, want %#v", k, get[k], v)
		}
	}
	wantTime(t, "created_at", get["created_at"])
	wantTime(t, "updated_at", get["updated_at"])

	// An agent completes it: the seed's completed shape.
	now := time.Now()
	_, err = b.db.Tasks().Start(ctx, id, 1, now)
	must(t, err)
	must(t, b.db.Tasks().Finish(ctx, id, 1, store.Outcome{Status: actors.StatusCompleted,
		Result: json.RawMessage(`{"code": "...", "files": ["main.py"]}`)}, now.Add(time.Second)))

	get = b.do(t, req{method: "GET", path: "/tasks/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	if get["status"] != "completed" {
		t.Errorf("status %v", get["status"])
	}
	if !reflect.DeepEqual(get["result"], map[string]any{"code": "...", "files": []any{"main.py"}}) {
		t.Errorf("result %#v", get["result"])
	}
	wantTime(t, "completed_at", get["completed_at"])
	wantTime(t, "started_at", get["started_at"])
	if get["attempts"] != 1.0 {
		t.Errorf("attempts %v", get["attempts"])
	}

	list := b.do(t, req{method: "GET", path: "/tasks", token: token}).wantStatus(t, http.StatusOK)
	var items []map[string]any
	must(t, json.Unmarshal(list.body, &items))
	if len(items) != 1 {
		t.Fatalf("list has %d tasks, want 1: %s", len(items), list.body)
	}
	wantKeys(t, "list item", items[0], seedListFields...)
	if items[0]["id"] != id || items[0]["status"] != "completed" || items[0]["priority"] != "high" {
		t.Errorf("list item %v", items[0])
	}
	wantTime(t, "created_at", items[0]["created_at"])
	wantTime(t, "completed_at", items[0]["completed_at"])
	if list.header.Get("Link") != "" || list.header.Get("X-Next-Cursor") != "" {
		t.Errorf("one page only, yet Link %q, X-Next-Cursor %q", list.header.Get("Link"), list.header.Get("X-Next-Cursor"))
	}
}

// TestSubmitDefaults: priority defaults to normal; parameters to an empty object.
func TestSubmitDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *gateway.Options) { o.DefaultMaxAttempts = 7 })
	token, _ := b.register(t, "defaults")
	id := b.submit(t, token, map[string]any{"name": "n", "task_type": "documentation_check"})
	get := b.do(t, req{method: "GET", path: "/tasks/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	if get["priority"] != "normal" || get["max_attempts"] != 7.0 || get["description"] != "" {
		t.Errorf("defaults: %v", get)
	}
	if !reflect.DeepEqual(get["parameters"], map[string]any{}) {
		t.Errorf("parameters %#v, want {}", get["parameters"])
	}

	// Explicit null parameters are also accepted.
	b.submit(t, token, map[string]any{"name": "n", "task_type": "documentation_check", "parameters": nil})
}

// TestRegisterNeverGrantsRole: a role in the body is ignored.
func TestRegisterNeverGrantsRole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.do(t, req{method: "POST", path: "/auth/register", body: map[string]any{
		"username": "mallory", "email": "mallory@example.com", "password": "SecurePass123!", "role": "admin",
	}}).wantStatus(t, http.StatusCreated).object(t)
	u, err := b.db.Users().Get(context.Background(), m["user_id"].(string))
	must(t, err)
	if u.Role != store.RoleUser {
		t.Fatalf("registered with role %q, want user", u.Role)
	}
	claims := decodeClaims(t, m["access_token"].(string))
	if claims["role"] != store.RoleUser {
		t.Fatalf("token role %v, want user", claims["role"])
	}

	// And it cannot see someone else's task.
	victim, _ := b.register(t, "victim")
	id := b.submit(t, victim, task("secret"))
	b.do(t, req{method: "GET", path: "/tasks/" + id, token: m["access_token"].(string)}).problem(t, http.StatusNotFound, "https://ymera.dev/problems/not-found")
}

// TestOwnership: a user sees only their own tasks, an admin sees all, and
// someone else's task is indistinguishable from a missing one.
func TestOwnership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice, _ := b.register(t, "alice")
	bob, _ := b.register(t, "bob")
	root := b.admin(t, "root")

	aliceTask := b.submit(t, alice, task("alice's"))
	bobTask := b.submit(t, bob, task("bob's"))

	b.do(t, req{method: "GET", path: "/tasks/" + aliceTask, token: alice}).wantStatus(t, http.StatusOK)
	b.do(t, req{method: "GET", path: "/tasks/" + aliceTask, token: root}).wantStatus(t, http.StatusOK)

	others := b.do(t, req{method: "GET", path: "/tasks/" + aliceTask, token: bob})
	others.problem(t, http.StatusNotFound, "https://ymera.dev/problems/not-found")
	// A missing id answers with the same body, modulo the id.
	absent := uuid.Must(uuid.NewV7()).String()
	gone := b.do(t, req{method: "GET", path: "/tasks/" + absent, token: bob})
	gone.problem(t, http.StatusNotFound, "https://ymera.dev/problems/not-found")
	if strings.ReplaceAll(string(gone.body), absent, aliceTask) != string(others.body) {
		t.Errorf("someone else's task and a missing one differ:\n%s\n%s", others.body, gone.body)
	}
	// Not a UUID: also 404.
	b.do(t, req{method: "GET", path: "/tasks/not-a-uuid", token: bob}).problem(t, http.StatusNotFound, "https://ymera.dev/problems/not-found")

	ids := func(token string) []string {
		var items []map[string]any
		must(t, json.Unmarshal(b.do(t, req{method: "GET", path: "/tasks", token: token}).wantStatus(t, http.StatusOK).body, &items))
		var out []string
		for _, it := range items {
			out = append(out, it["id"].(string))
		}
		return out
	}
	if got := ids(alice); !reflect.DeepEqual(got, []string{aliceTask}) {
		t.Errorf("alice lists %v", got)
	}
	if got := ids(bob); !reflect.DeepEqual(got, []string{bobTask}) {
		t.Errorf("bob lists %v", got)
	}
	if got := ids(root); !reflect.DeepEqual(got, []string{bobTask, aliceTask}) {
		t.Errorf("admin lists %v, want both, newest first", got)
	}
}

// TestLoginFailuresLookAlike: unknown user, wrong password and inactive
// account get the same answer.
func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, id := b.register(t, "carol")
	b.register(t, "dave")
	inactive := false
	_, err := b.db.Users().Update(context.Background(), id, store.UserUpdate{IsActive: &inactive})
	must(t, err)

	var bodies []string
	for _, c := range []struct{ user, pass string }{
		{"nobody", "SecurePass123!"},
		{"dave", "WrongPass123!"},
		{"carol", "SecurePass123!"}, // right password, inactive account
	} {
		r := b.do(t, req{method: "POST", path: "/auth/login", body: map[string]any{"username": c.user, "password": c.pass}})
		r.problem(t, http.StatusUnauthorized, "https://ymera.dev/problems/unauthorized")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", c.user, r.header.Get("WWW-Authenticate"))
		}
		bodies = append(bodies, string(r.body))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("failed logins differ:\n%s", strings.Join(bodies, "\n"))
	}
}

// TestRequestID: a sane client id is echoed, otherwise one is made; every
// response carries X-Response-Time.
func TestRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do(t, req{method: "GET", path: "/livez", header: map[string]string{"X-Request-ID": "trace-abc-123"}})
	if got := r.header.Get("X-Request-ID"); got != "trace-abc-123" {
		t.Errorf("X-Request-ID %q, want the client's", got)
	}
	if r.header.Get("X-Response-Time") == "" {
		t.Error("no X-Response-Time")
	}
	r = b.do(t, req{method: "GET", path: "/nowhere", header: map[string]string{"X-Request-ID": strings.Repeat("x", 300)}})
	if got := r.header.Get("X-Request-ID"); got == "" || len(got) > 128 {
		t.Errorf("X-Request-ID %q, want a fresh id", got)
	}
	if r.header.Get("X-Response-Time") == "" {
		t.Error("no X-Response-Time on an error")
	}
}

// TestOpenAPI: the document and the docs page are served.
func TestOpenAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := b.do(t, req{method: "GET", path: "/openapi.json"}).wantStatus(t, http.StatusOK).object(t)
	info := doc["info"].(map[string]any)
	if info["title"] != "YMERA" || info["version"] != "1.2.3-test" {
		t.Errorf("info %v", info)
	}
	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if bearer, _ := schemes["bearer"].(map[string]any); bearer["scheme"] != "bearer" || bearer["type"] != "http" {
		t.Errorf("securitySchemes %v", schemes)
	}
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/auth/register", "/auth/login", "/tasks", "/tasks/{task_id}", "/health", "/livez", "/readyz"} {
		if paths[p] == nil {
			t.Errorf("no %s in the document", p)
		}
	}
	// Schema errors are documented as 400; only submit-task answers 422.
	login := paths["/auth/login"].(map[string]any)["post"].(map[string]any)["responses"].(map[string]any)
	submit := paths["/tasks"].(map[string]any)["post"].(map[string]any)["responses"].(map[string]any)
	if login["422"] != nil || login["400"] == nil || submit["422"] == nil {
		t.Errorf("documented errors: login %v, submit %v", keysOf(login), keysOf(submit))
	}
	b.do(t, req{method: "GET", path: "/docs"}).wantStatus(t, http.StatusOK)
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
