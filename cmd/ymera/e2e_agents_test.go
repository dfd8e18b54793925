package main

import (
	"net/http"
	"testing"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// TestServeAgentHeartbeat checks the wiring of agents and projects: an agent
// registered over HTTP reports a heartbeat that lands both in the store and
// in the NATS presence bucket, and a project can be created and read back.
func TestServeAgentHeartbeat(t *testing.T) {
	t.Parallel()
	s, a := startTestSystem(t, testConfig(t, nil))
	a.signUp()

	var created struct {
		AgentID string `json:"agent_id"`
		Status  string `json:"status"`
	}
	a.mustJSON(http.MethodPost, "/agents", map[string]any{"name": "external", "capabilities": []string{"python"}}, http.StatusCreated, &created)
	var hb struct{ Status string }
	a.mustJSON(http.MethodPost, "/agents/"+created.AgentID+"/heartbeat", map[string]string{"status": "busy"}, http.StatusOK, &hb)
	if hb.Status != "heartbeat_received" {
		t.Fatalf("heartbeat answered %q", hb.Status)
	}
	var agent struct {
		Status        string  `json:"status"`
		LastHeartbeat *string `json:"last_heartbeat"`
	}
	a.mustJSON(http.MethodGet, "/agents/"+created.AgentID, nil, http.StatusOK, &agent)
	if agent.Status != "busy" || agent.LastHeartbeat == nil {
		t.Fatalf("agent after heartbeat: %+v", agent)
	}

	kv, err := s.conn.JS().KeyValue(t.Context(), transport.BucketHeartbeats)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(t.Context(), created.AgentID)
	if err != nil {
		t.Fatalf("no presence entry for %s: %v", created.AgentID, err)
	}
	if got, err := transport.DecodeHeartbeat(e.Value()); err != nil || got.Status != actors.Healthy {
		t.Fatalf("presence entry %+v, %v", got, err)
	}

	var project struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	a.mustJSON(http.MethodPost, "/projects", map[string]any{"name": "wired", "repository_url": "https://example.com/r.git"}, http.StatusCreated, &project)
	a.mustJSON(http.MethodGet, "/projects/"+project.ID, nil, http.StatusOK, &project)
	if project.Name != "wired" {
		t.Fatalf("project %+v", project)
	}
}
