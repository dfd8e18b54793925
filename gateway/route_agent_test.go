package gateway_test

import (
	"net/http"
	"testing"

	"github.com/ymera/ymera/gateway"
)

// TestSubmitToAgent: an explicit agent_id must name an agent the caller may
// use that offers the task type; the task then carries it to the runtime.
func TestSubmitToAgent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice, _ := b.register(t, "alice_route")
	bob, _ := b.register(t, "bob_route")

	newAgent := func(token string, caps ...string) string {
		r := b.do(t, req{method: http.MethodPost, path: "/agents", token: token,
			body: map[string]any{"name": "worker", "capabilities": caps}}).wantStatus(t, http.StatusCreated)
		return r.object(t)["agent_id"].(string)
	}
	scanner := newAgent(alice, "security_scan")
	docs := newAgent(alice, "documentation_check")
	bobs := newAgent(bob, "security_scan")

	body := task("routed")
	body["agent_id"] = scanner
	id := b.submit(t, alice, body)
	got, err := b.db.Tasks().Get(t.Context(), id)
	must(t, err)
	if got.AgentID != scanner {
		t.Errorf("task routed to %q, want %q", got.AgentID, scanner)
	}

	cases := []struct {
		name   string
		agent  string
		status int
		typ    string
	}{
		{"another user's agent", bobs, http.StatusNotFound, gateway.ProblemNotFound},
		{"no such agent", "0190a7e4-5b6c-7d8e-9f00-0123456789ab", http.StatusNotFound, gateway.ProblemNotFound},
		{"agent without the task type", docs, http.StatusUnprocessableEntity, gateway.ProblemUnknownTaskType},
	}
	for _, tc := range cases {
		body := task(tc.name)
		body["agent_id"] = tc.agent
		b.do(t, req{method: http.MethodPost, path: "/tasks", token: alice, body: body}).problem(t, tc.status, tc.typ)
	}
	body = task("bad id")
	body["agent_id"] = "not-a-uuid"
	b.do(t, req{method: http.MethodPost, path: "/tasks", token: alice, body: body}).wantStatus(t, http.StatusBadRequest)
}
