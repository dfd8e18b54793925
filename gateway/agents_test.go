package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
)

// The seed's agent field names, exactly, and what this API adds.
var (
	seedCreateAgentFields = []string{"agent_id", "status"}
	seedAgentFields       = []string{"id", "name", "description", "capabilities", "status", "last_heartbeat", "created_at"}
	extraAgentFields      = []string{"config", "owner_id", "updated_at"}
)

// seedAgent is the seed's POST /agents example.
func seedAgent() map[string]any {
	return map[string]any{
		"name":         "My Coding Agent",
		"description":  "Custom coding agent",
		"capabilities": []string{"python", "javascript"},
		"config":       map[string]any{"model": "gpt-4"},
	}
}

// createAgent registers an agent through the API and returns its id.
func (b *bundle) createAgent(t testing.TB, token string, body map[string]any) string {
	t.Helper()
	m := b.do(t, req{method: "POST", path: "/agents", body: body, token: token}).wantStatus(t, http.StatusCreated).object(t)
	return m["agent_id"].(string)
}

func list(t testing.TB, r response) []map[string]any {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal(r.body, &items); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v\n%s", err, r.body)
	}
	return items
}

// TestAgentLifecycle walks the seed's agent endpoints in order and checks
// every response against the seed's example shapes.
func TestAgentLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, userID := b.register(t, "ada")

	created := b.do(t, req{method: "POST", path: "/agents", body: seedAgent(), token: token}).wantStatus(t, http.StatusCreated).object(t)
	wantKeys(t, "POST /agents", created, seedCreateAgentFields...)
	if created["status"] != "created" {
		t.Errorf("status = %v, want created", created["status"])
	}
	id := wantUUID(t, "agent_id", created["agent_id"])

	items := list(t, b.do(t, req{method: "GET", path: "/agents", token: token}).wantStatus(t, http.StatusOK))
	if len(items) != 1 {
		t.Fatalf("GET /agents: %d items, want 1", len(items))
	}
	it := items[0]
	wantKeys(t, "GET /agents item", it, append(slices.Clone(seedAgentFields), extraAgentFields...)...)
	if it["id"] != id || it["name"] != "My Coding Agent" || it["description"] != "Custom coding agent" ||
		it["status"] != "offline" || it["last_heartbeat"] != nil || it["owner_id"] != userID {
		t.Errorf("GET /agents item %v", it)
	}
	if caps, _ := it["capabilities"].([]any); !slices.Equal(caps, []any{"python", "javascript"}) {
		t.Errorf("capabilities = %v", it["capabilities"])
	}
	if cfg, _ := it["config"].(map[string]any); cfg["model"] != "gpt-4" {
		t.Errorf("config = %v", it["config"])
	}
	wantTime(t, "created_at", it["created_at"])

	one := b.do(t, req{method: "GET", path: "/agents/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	if !equalJSON(one, it) {
		t.Errorf("GET /agents/{id} = %v, want the list item %v", one, it)
	}

	hb := b.do(t, req{method: "POST", path: "/agents/" + id + "/heartbeat", body: map[string]any{"status": "active"}, token: token}).
		wantStatus(t, http.StatusOK).object(t)
	wantKeys(t, "heartbeat response", hb, "status")
	if hb["status"] != "heartbeat_received" {
		t.Errorf("heartbeat status = %v, want heartbeat_received", hb["status"])
	}
	one = b.do(t, req{method: "GET", path: "/agents/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	if one["status"] != "active" {
		t.Errorf("status after heartbeat = %v, want active", one["status"])
	}
	wantTime(t, "last_heartbeat", one["last_heartbeat"])

	patched := b.do(t, req{method: "PATCH", path: "/agents/" + id, token: token, body: map[string]any{
		"name": "Renamed", "capabilities": []string{"go"}, "config": map[string]any{"model": "local"}, "status": "idle",
	}}).wantStatus(t, http.StatusOK).object(t)
	if patched["name"] != "Renamed" || patched["status"] != "idle" || patched["description"] != "Custom coding agent" {
		t.Errorf("after PATCH: %v", patched)
	}
	if caps, _ := patched["capabilities"].([]any); !slices.Equal(caps, []any{"go"}) {
		t.Errorf("capabilities after PATCH = %v", patched["capabilities"])
	}
	if cfg, _ := patched["config"].(map[string]any); cfg["model"] != "local" {
		t.Errorf("config after PATCH = %v", patched["config"])
	}

	r := b.do(t, req{method: "DELETE", path: "/agents/" + id, token: token}).wantStatus(t, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Errorf("DELETE body %q, want none", r.body)
	}
	b.do(t, req{method: "GET", path: "/agents/" + id, token: token}).problem(t, http.StatusNotFound, "https://ymera.dev/problems/not-found")
}

// equalJSON compares two decoded JSON values.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// TestAgentBadInput checks that every malformed request is a 400 problem
// that names the offending value, never a 5xx.
func TestAgentBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, _ := b.register(t, "bea")
	id := b.createAgent(t, token, seedAgent())

	withField := func(k string, v any) map[string]any { m := seedAgent(); m[k] = v; return m }
	cases := []struct {
		name         string
		method, path string
		body         any
		mention      string // the detail must name this
	}{
		{"capability with capitals", "POST", "/agents", withField("capabilities", []string{"python", "Java Script"}), "Java Script"},
		{"capability with a dot", "POST", "/agents", withField("capabilities", []string{"a.b"}), "a.b"},
		{"empty capability", "POST", "/agents", withField("capabilities", []string{""}), "capabilities[0]"},
		{"capabilities not a list", "POST", "/agents", withField("capabilities", "python"), "capabilities"},
		{"config not an object", "POST", "/agents", withField("config", []int{1}), "config"},
		{"empty name", "POST", "/agents", withField("name", ""), "name"},
		{"no name", "POST", "/agents", map[string]any{"description": "x"}, "name"},
		{"name too long", "POST", "/agents", withField("name", strings.Repeat("n", 101)), "name"},
		{"malformed JSON", "POST", "/agents", `{"name": "x",`, "body"},
		{"PATCH bad status", "PATCH", "/agents/" + id, map[string]any{"status": "sleeping"}, "sleeping"},
		{"PATCH bad capability", "PATCH", "/agents/" + id, map[string]any{"capabilities": []string{"ok", "NOT OK"}}, "NOT OK"},
		{"PATCH malformed JSON", "PATCH", "/agents/" + id, `{"status"`, "body"},
		{"heartbeat bad status", "POST", "/agents/" + id + "/heartbeat", map[string]any{"status": "zombie"}, "zombie"},
		{"heartbeat inactive", "POST", "/agents/" + id + "/heartbeat", map[string]any{"status": "inactive"}, "inactive"},
		{"heartbeat without status", "POST", "/agents/" + id + "/heartbeat", map[string]any{}, "status"},
		{"heartbeat malformed JSON", "POST", "/agents/" + id + "/heartbeat", `not json`, "body"},
		{"limit too big", "GET", "/agents?limit=101", nil, "limit"},
		{"limit far too big", "GET", "/agents?limit=100000", nil, "100000"},
		{"limit zero", "GET", "/agents?limit=0", nil, "limit"},
		{"bad status filter", "GET", "/agents?status=sleeping", nil, "sleeping"},
		{"garbage cursor", "GET", "/agents?cursor=%21%21", nil, "cursor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.do(t, req{method: c.method, path: c.path, body: c.body, token: token}).
				problem(t, http.StatusBadRequest, "https://ymera.dev/problems/validation")
			if d, _ := p["detail"].(string); !strings.Contains(d, c.mention) {
				t.Errorf("detail %q does not mention %q", d, c.mention)
			}
		})
	}
	// Nothing above changed the agent.
	got := b.do(t, req{method: "GET", path: "/agents/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	if got["status"] != "offline" || got["name"] != "My Coding Agent" {
		t.Errorf("agent changed by refused requests: %v", got)
	}
}

// TestAgentPagination walks the caller's agents two at a time with the
// Link header and checks that the status filter carries over.
func TestAgentPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, _ := b.register(t, "cat")
	other, _ := b.register(t, "dan")
	b.createAgent(t, other, seedAgent())

	var want []string
	for i := range 5 {
		body := seedAgent()
		body["name"] = fmt.Sprintf("a%d", i)
		id := b.createAgent(t, token, body)
		want = append(want, id)
		b.do(t, req{method: "POST", path: "/agents/" + id + "/heartbeat", body: map[string]any{"status": "busy"}, token: token}).wantStatus(t, http.StatusOK)
	}
	b.createAgent(t, token, seedAgent()) // offline: filtered out

	var got []string
	path := "/agents?status=busy&limit=2"
	for n := 1; n <= 4; n++ {
		r := b.do(t, req{method: "GET", path: path, token: token}).wantStatus(t, http.StatusOK)
		for _, it := range list(t, r) {
			got = append(got, it["id"].(string))
		}
		link, cursor := r.header.Get("Link"), r.header.Get("X-Next-Cursor")
		if link == "" {
			if cursor != "" || n != 3 {
				t.Fatalf("page %d: no Link but X-Next-Cursor %q", n, cursor)
			}
			break
		}
		m := nextLink.FindStringSubmatch(link)
		if m == nil {
			t.Fatalf("page %d: Link %q", n, link)
		}
		u, err := url.Parse(m[1])
		must(t, err)
		if q := u.Query(); u.Path != "/agents" || q.Get("status") != "busy" || q.Get("limit") != "2" || q.Get("cursor") != cursor {
			t.Fatalf("page %d: next link %q, cursor %q", n, m[1], cursor)
		}
		path = m[1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages gave\n%v\nwant in registration order\n%v", got, want)
	}
}

// TestAgentDeleteConflict: an agent that tasks refer to is kept, with a 409
// that says why.
func TestAgentDeleteConflict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, userID := b.register(t, "eve")
	id := b.createAgent(t, token, seedAgent())
	must(t, b.db.Tasks().Create(context.Background(), actors.Task{
		ID: uuid.Must(uuid.NewV7()).String(), Name: "pinned", Type: "security_scan", Priority: actors.PriorityNormal,
		UserID: userID, AgentID: id, CreatedAt: time.Now().UTC(),
	}))
	p := b.do(t, req{method: "DELETE", path: "/agents/" + id, token: token}).problem(t, http.StatusConflict, "https://ymera.dev/problems/conflict")
	if d, _ := p["detail"].(string); !strings.Contains(d, "tasks") || !strings.Contains(d, id) {
		t.Errorf("detail %q should name the agent and its tasks", d)
	}
	b.do(t, req{method: "GET", path: "/agents/" + id, token: token}).wantStatus(t, http.StatusOK)
}

// recordingSink keeps the heartbeats it is given, or fails.
type recordingSink struct {
	fail atomic.Bool
	got  chan string
}

func (s *recordingSink) PutHeartbeat(_ context.Context, agentID string, health actors.HealthStatus, at time.Time) error {
	if s.fail.Load() {
		return errors.New("nats: timeout")
	}
	s.got <- fmt.Sprintf("%s %s %t", agentID, health, at.IsZero())
	return nil
}

// TestHeartbeatSink: each heartbeat reaches the sink with the agent's
// health; a sink that fails makes the heartbeat a 503 the agent retries.
func TestHeartbeatSink(t *testing.T) {
	t.Parallel()
	sink := &recordingSink{got: make(chan string, 8)}
	b := setup(t, func(o *gateway.Options) { o.Heartbeats = sink })
	token, _ := b.register(t, "fay")
	id := b.createAgent(t, token, seedAgent())

	for status, health := range map[string]string{"active": "healthy", "idle": "healthy", "busy": "healthy", "degraded": "degraded", "offline": "unhealthy"} {
		b.do(t, req{method: "POST", path: "/agents/" + id + "/heartbeat", body: map[string]any{"status": status}, token: token}).wantStatus(t, http.StatusOK)
		select {
		case got := <-sink.got:
			if want := id + " " + health + " false"; got != want {
				t.Errorf("status %s: sink got %q, want %q", status, got, want)
			}
		default:
			t.Fatalf("status %s: the sink got nothing", status)
		}
	}

	sink.fail.Store(true)
	b.do(t, req{method: "POST", path: "/agents/" + id + "/heartbeat", body: map[string]any{"status": "active"}, token: token}).
		problem(t, http.StatusServiceUnavailable, "https://ymera.dev/problems/unavailable")
}

// TestResourcesDocumented: every agent and project operation is in the
// OpenAPI document, with its security and its errors as problems.
func TestResourcesDocumented(t *testing.T) {
	t.Parallel()
	b := setup(t)
	doc := b.do(t, req{method: "GET", path: "/openapi.json"}).wantStatus(t, http.StatusOK).object(t)
	paths := doc["paths"].(map[string]any)
	for path, methods := range map[string][]string{
		"/agents":                      {"get", "post"},
		"/agents/{agent_id}":           {"get", "patch", "delete"},
		"/agents/{agent_id}/heartbeat": {"post"},
		"/projects":                    {"get", "post"},
		"/projects/{project_id}":       {"get", "patch", "delete"},
	} {
		item, _ := paths[path].(map[string]any)
		for _, m := range methods {
			op, _ := item[m].(map[string]any)
			if op == nil {
				t.Errorf("%s %s is not documented", m, path)
				continue
			}
			if sec, _ := op["security"].([]any); len(sec) == 0 {
				t.Errorf("%s %s has no security requirement", m, path)
			}
			responses, _ := op["responses"].(map[string]any)
			if responses["401"] == nil || responses["422"] != nil {
				t.Errorf("%s %s documents %v", m, path, keysOf(responses))
			}
		}
	}
}
