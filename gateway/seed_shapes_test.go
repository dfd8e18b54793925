package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// The seed's "API Endpoints" examples, verbatim but for what is not JSON
// there ({...}, [...]) and for the task type (the seed's code_generation
// agent is not one of ours). "uuid" and timestamps stand for values of
// that kind. Keeping them as text makes a change of the seed a change here.
const (
	seedRegisterRequest = `{"username": "john_doe", "email": "john@example.com", "password": "SecurePass123!",
		"first_name": "John", "last_name": "Doe"}`
	seedTokenResponse = `{"access_token": "eyJhbGc...", "token_type": "bearer", "user_id": "uuid"}`
	seedLoginRequest  = `{"username": "john_doe", "password": "SecurePass123!"}`
	seedMeResponse    = `{"id": "uuid", "username": "john_doe", "email": "john@example.com", "first_name": "John",
		"last_name": "Doe", "is_active": true, "created_at": "2024-01-16T12:00:00Z"}`
	seedAgentRequest = `{"name": "My Coding Agent", "description": "Custom coding agent",
		"capabilities": ["python", "javascript"], "config": {"model": "gpt-4"}}`
	seedAgentCreated  = `{"agent_id": "uuid", "status": "created"}`
	seedAgentListItem = `{"id": "uuid", "name": "My Coding Agent", "description": "Custom coding agent",
		"capabilities": ["python", "javascript"], "status": "active", "last_heartbeat": "2024-01-16T12:05:00Z",
		"created_at": "2024-01-16T12:00:00Z"}`
	seedHeartbeatRequest  = `{"status": "active"}`
	seedHeartbeatResponse = `{"status": "heartbeat_received"}`
	seedTaskRequest       = `{"name": "Generate API", "description": "Generate REST API for user management",
		"task_type": "security_scan", "parameters": {"language": "python", "framework": "fastapi"}, "priority": "high"}`
	seedTaskCreated  = `{"task_id": "uuid", "status": "created"}`
	seedTaskListItem = `{"id": "uuid", "name": "Generate API", "task_type": "security_scan", "priority": "high",
		"status": "completed", "result": {}, "created_at": "2024-01-16T12:00:00Z", "completed_at": "2024-01-16T12:05:00Z"}`
	seedTaskDetail = `{"id": "uuid", "name": "Generate API", "description": "Generate REST API for user management",
		"task_type": "security_scan", "parameters": {}, "priority": "high", "status": "completed",
		"result": {"code": "...", "files": []}, "created_at": "2024-01-16T12:00:00Z", "completed_at": "2024-01-16T12:05:00Z"}`
	// The seed's redis and manager_agent components are NATS and nothing
	// here: YMERA has no Redis and no manager agent URL.
	seedHealth = `{"status": "healthy", "timestamp": "2024-01-16T12:00:00Z", "version": "1.0.0",
		"components": {"database": {"status": "healthy", "message": "Database connection successful"},
		"nats": {"status": "healthy", "message": "NATS connection successful"}}}`
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// matchSeed checks that got has every field of the seed's example want,
// each of the same JSON type: "uuid" must be a UUID, an RFC 3339 example a
// timestamp, and objects are compared field by field. Fields the seed does
// not show are allowed (ours are documented as additions).
func matchSeed(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: seed example: %v", what, err)
	}
	matchValue(t, what, got, w)
}

func matchValue(t *testing.T, at string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s = %v (%T), want an object", at, got, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s has no field %q", at, k)
				continue
			}
			matchValue(t, at+"."+k, gv, wv)
		}
	case []any:
		if _, ok := got.([]any); !ok {
			t.Errorf("%s = %v (%T), want an array", at, got, got)
		}
	case string:
		g, ok := got.(string)
		switch {
		case !ok:
			t.Errorf("%s = %v (%T), want a string", at, got, got)
		case w == "uuid" && !uuidPattern.MatchString(g):
			t.Errorf("%s = %q, want a UUID", at, g)
		case isTimestamp(w) && !isTimestamp(g):
			t.Errorf("%s = %q, want an RFC 3339 timestamp", at, g)
		}
	case bool:
		if _, ok := got.(bool); !ok {
			t.Errorf("%s = %v (%T), want a boolean", at, got, got)
		}
	case float64:
		if _, ok := got.(float64); !ok {
			t.Errorf("%s = %v (%T), want a number", at, got, got)
		}
	}
}

func isTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// TestSeedShapes sends each of the seed's example requests and checks the
// answer has the seed's example response's fields with the same types.
func TestSeedShapes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	post := func(path, body, token string, status int) map[string]any {
		t.Helper()
		return b.do(t, req{method: "POST", path: path, body: body, token: token}).wantStatus(t, status).object(t)
	}
	get := func(path, token string) response {
		t.Helper()
		return b.do(t, req{method: "GET", path: path, token: token}).wantStatus(t, http.StatusOK)
	}

	reg := post("/auth/register", seedRegisterRequest, "", http.StatusCreated)
	matchSeed(t, "POST /auth/register", reg, seedTokenResponse)
	login := post("/auth/login", seedLoginRequest, "", http.StatusOK)
	matchSeed(t, "POST /auth/login", login, seedTokenResponse)
	token := login["access_token"].(string)

	me := get("/users/me", token).object(t)
	matchSeed(t, "GET /users/me", me, seedMeResponse)
	for k, v := range map[string]any{"username": "john_doe", "email": "john@example.com", "first_name": "John", "last_name": "Doe", "is_active": true} {
		if me[k] != v {
			t.Errorf("GET /users/me %s = %v, want %v", k, me[k], v)
		}
	}

	agent := post("/agents", seedAgentRequest, token, http.StatusCreated)
	matchSeed(t, "POST /agents", agent, seedAgentCreated)
	agentID := agent["agent_id"].(string)
	hb := post("/agents/"+agentID+"/heartbeat", seedHeartbeatRequest, token, http.StatusOK)
	matchSeed(t, "POST /agents/{agent_id}/heartbeat", hb, seedHeartbeatResponse)
	agents := list(t, get("/agents", token))
	if len(agents) != 1 {
		t.Fatalf("GET /agents: %d items", len(agents))
	}
	matchSeed(t, "GET /agents[0]", agents[0], seedAgentListItem)

	created := post("/tasks", seedTaskRequest, token, http.StatusCreated)
	matchSeed(t, "POST /tasks", created, seedTaskCreated)
	taskID := created["task_id"].(string)
	// Complete it as an agent would, so that result and completed_at have
	// values as in the seed's example.
	ctx := context.Background()
	_, err := b.db.Tasks().Start(ctx, taskID, 1, time.Now())
	must(t, err)
	must(t, b.db.Tasks().Finish(ctx, taskID, 1, store.Outcome{Status: actors.StatusCompleted,
		Result: json.RawMessage(`{"code": "print(1)", "files": ["main.py"]}`)}, time.Now()))

	tasks := list(t, get("/tasks", token))
	if len(tasks) != 1 {
		t.Fatalf("GET /tasks: %d items", len(tasks))
	}
	matchSeed(t, "GET /tasks[0]", tasks[0], seedTaskListItem)
	matchSeed(t, "GET /tasks/{task_id}", get("/tasks/"+taskID, token).object(t), seedTaskDetail)

	matchSeed(t, "GET /health", get("/health", "").object(t), seedHealth)
}
