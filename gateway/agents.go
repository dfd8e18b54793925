package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// An agent's status is one of active, idle, busy, degraded and offline: the
// enum tags below list them, and agentHealth maps each to a health status.
// A new agent is offline until its first heartbeat.
const agentStatusOffline = "offline"

// HeartbeatSink publishes agent presence for live watchers (in production
// the NATS KV heartbeat bucket, whose TTL makes a silent agent disappear);
// the store keeps the durable record. cmd adapts transport.Conn to it, so
// that the gateway does not depend on the transport.
type HeartbeatSink interface {
	// PutHeartbeat records that agentID reported health at at.
	PutHeartbeat(ctx context.Context, agentID string, health actors.HealthStatus, at time.Time) error
}

// agentHealth is what an API status means to presence watchers, which
// speak the agents' own health vocabulary.
func agentHealth(status string) actors.HealthStatus {
	switch status {
	case "degraded":
		return actors.Degraded
	case agentStatusOffline:
		return actors.Unhealthy
	}
	return actors.Healthy
}

// agentView is one agent as the API shows it: the seed's fields, then
// config, owner and update time.
type agentView struct {
	ID            string     `json:"id" format:"uuid"`
	Name          string     `json:"name" example:"My Coding Agent"`
	Description   string     `json:"description" example:"Custom coding agent"`
	Capabilities  []string   `json:"capabilities" example:"[\"python\",\"javascript\"]"`
	Status        string     `json:"status" example:"active"`
	LastHeartbeat *time.Time `json:"last_heartbeat" doc:"When the agent last reported; null before its first heartbeat"`
	CreatedAt     time.Time  `json:"created_at"`
	Config        jsonObject `json:"config"`
	OwnerID       *string    `json:"owner_id" format:"uuid" doc:"The user who registered the agent; null for built-in agents"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func agentViewOf(a store.Agent) agentView {
	v := agentView{
		ID:            a.ID,
		Name:          a.Name,
		Description:   a.Description,
		Capabilities:  a.Capabilities,
		Status:        a.Status,
		LastHeartbeat: utcPtr(a.LastHeartbeat),
		CreatedAt:     a.CreatedAt.UTC(),
		Config:        jsonObject(a.Config),
		UpdatedAt:     a.UpdatedAt.UTC(),
	}
	if v.Capabilities == nil {
		v.Capabilities = []string{}
	}
	if len(v.Config) == 0 {
		v.Config = jsonObject("{}")
	}
	if a.OwnerID != "" {
		v.OwnerID = &a.OwnerID
	}
	return v
}

// checkCapabilities refuses a capability that is not a token, naming it.
func checkCapabilities(caps []string) *Problem {
	for i, c := range caps {
		if !actors.ValidToken(c) {
			return validationProblem(fmt.Sprintf("body.capabilities[%d]", i),
				"expected 1-64 characters of lowercase letters, digits, '_' and '-'", truncate(c, 80))
		}
	}
	return nil
}

// compactObject returns a JSON object body field as stored: compact, and
// {} when absent.
func compactObject(o jsonObject, location string) (json.RawMessage, *Problem) {
	if len(o) == 0 {
		return json.RawMessage("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, o); err != nil {
		return nil, validationProblem(location, "expected a JSON object", nil)
	}
	return buf.Bytes(), nil
}

// createAgentRequest registers an agent (the seed's shape). Unknown fields
// are ignored.
type createAgentRequest struct {
	_            struct{}   `json:"-" additionalProperties:"true"`
	Name         string     `json:"name" minLength:"1" maxLength:"100" example:"My Coding Agent"`
	Description  string     `json:"description,omitempty" maxLength:"10000" example:"Custom coding agent"`
	Capabilities []string   `json:"capabilities,omitempty" maxItems:"64" example:"[\"python\",\"javascript\"]" doc:"Tokens: lowercase letters, digits, '_' and '-'"`
	Config       jsonObject `json:"config,omitempty" example:"{\"model\": \"gpt-4\"}" doc:"The agent's settings, e.g. {\"model\": \"gpt-4\"}"`
}

type createAgentInput struct {
	Body createAgentRequest
}

type createAgentResponse struct {
	AgentID string `json:"agent_id" format:"uuid" example:"0190a7e4-5b6c-7d8e-9f00-0123456789ab"`
	Status  string `json:"status" enum:"created" example:"created"`
}

type createAgentOutput struct {
	Body createAgentResponse
}

// handleCreateAgent registers an agent owned by the caller. It starts
// offline: only a heartbeat says it is alive.
func handleCreateAgent(log *slog.Logger, agents interface {
	Create(ctx context.Context, a store.Agent) error
}, now func() time.Time) func(context.Context, *createAgentInput) (*createAgentOutput, error) {
	return func(ctx context.Context, in *createAgentInput) (*createAgentOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		r := in.Body
		if p := checkCapabilities(r.Capabilities); p != nil {
			return nil, p
		}
		cfg, p := compactObject(r.Config, "body.config")
		if p != nil {
			return nil, p
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, problemFor(ctx, log, fmt.Errorf("gateway: agent id: %w", err), details{})
		}
		t := now().UTC()
		a := store.Agent{
			ID:           id.String(),
			Name:         r.Name,
			Description:  r.Description,
			Capabilities: r.Capabilities,
			Config:       cfg,
			Status:       agentStatusOffline,
			OwnerID:      who.UserID,
			CreatedAt:    t,
			UpdatedAt:    t,
		}
		if err := agents.Create(ctx, a); err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		return &createAgentOutput{Body: createAgentResponse{AgentID: a.ID, Status: "created"}}, nil
	}
}

// listAgentsInput filters and pages GET /agents.
type listAgentsInput struct {
	Status string `query:"status" enum:"active,idle,busy,degraded,offline" doc:"Only agents in this status"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"Page size; more than 100 is refused"`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where the page starts: the X-Next-Cursor of the previous page"`
}

type listAgentsOutput struct {
	Link       string `header:"Link" doc:"<...>; rel=\"next\" when there is a next page"`
	NextCursor string `header:"X-Next-Cursor" doc:"The cursor of the next page, when there is one"`
	Body       []agentView
}

// handleListAgents lists the caller's agents (an admin's: every agent) in
// registration order.
func handleListAgents(log *slog.Logger, agents interface {
	List(ctx context.Context, f store.AgentFilter) ([]store.Agent, error)
}) func(context.Context, *listAgentsInput) (*listAgentsOutput, error) {
	return func(ctx context.Context, in *listAgentsInput) (*listAgentsOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		owner, ok := who.ownerFilter()
		if !ok {
			return &listAgentsOutput{Body: []agentView{}}, nil
		}
		q := url.Values{}
		if in.Status != "" {
			q.Set("status", in.Status)
		}
		l, err := listPage(ctx, log, in.Cursor, in.Limit, "/agents", q,
			func(after string, limit int) ([]store.Agent, error) {
				return agents.List(ctx, store.AgentFilter{OwnerID: owner, Status: in.Status, After: after, Limit: limit})
			}, func(a store.Agent) string { return a.ID }, agentViewOf)
		if err != nil {
			return nil, err
		}
		return &listAgentsOutput{Link: l.Link, NextCursor: l.Cursor, Body: l.Body}, nil
	}
}

// agentStore is what the single-agent operations need of store.Agents.
type agentStore interface {
	Get(ctx context.Context, id string) (store.Agent, error)
	Update(ctx context.Context, id string, upd store.AgentUpdate) (store.Agent, error)
	Delete(ctx context.Context, id string) error
}

func agentOwner(a store.Agent) string { return a.OwnerID }

type agentPath struct {
	AgentID string `path:"agent_id" doc:"The agent's id, a UUID"`
}

type agentOutput struct {
	Body agentView
}

// handleGetAgent shows one agent to its owner or an admin.
func handleGetAgent(log *slog.Logger, agents agentStore) func(context.Context, *agentPath) (*agentOutput, error) {
	return func(ctx context.Context, in *agentPath) (*agentOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		a, p := loadOwned(ctx, log, "agent", in.AgentID, agents.Get, agentOwner, who.mayAccess)
		if p != nil {
			return nil, p
		}
		return &agentOutput{Body: agentViewOf(a)}, nil
	}
}

// updateAgentRequest changes an agent; absent fields stay as they are.
type updateAgentRequest struct {
	_            struct{}    `json:"-" additionalProperties:"true"`
	Name         *string     `json:"name,omitempty" minLength:"1" maxLength:"100"`
	Description  *string     `json:"description,omitempty" maxLength:"10000"`
	Capabilities *[]string   `json:"capabilities,omitempty" maxItems:"64"`
	Config       *jsonObject `json:"config,omitempty"`
	Status       *string     `json:"status,omitempty" enum:"active,idle,busy,degraded,offline"`
}

type updateAgentInput struct {
	AgentID string `path:"agent_id" doc:"The agent's id, a UUID"`
	Body    updateAgentRequest
}

// handleUpdateAgent changes the fields the body names.
func handleUpdateAgent(log *slog.Logger, agents agentStore) func(context.Context, *updateAgentInput) (*agentOutput, error) {
	return func(ctx context.Context, in *updateAgentInput) (*agentOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		r := in.Body
		upd := store.AgentUpdate{Name: r.Name, Description: r.Description, Capabilities: r.Capabilities, Status: r.Status}
		if r.Capabilities != nil {
			if p := checkCapabilities(*r.Capabilities); p != nil {
				return nil, p
			}
		}
		if r.Config != nil {
			cfg, p := compactObject(*r.Config, "body.config")
			if p != nil {
				return nil, p
			}
			upd.Config = &cfg
		}
		a, p := loadOwned(ctx, log, "agent", in.AgentID, agents.Get, agentOwner, who.mayAccess)
		if p != nil {
			return nil, p
		}
		updated, err := agents.Update(ctx, a.ID, upd)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{notFound: fmt.Sprintf("agent %q does not exist", a.ID)})
		}
		return &agentOutput{Body: agentViewOf(updated)}, nil
	}
}

// handleDeleteAgent removes an agent no task refers to.
func handleDeleteAgent(log *slog.Logger, agents agentStore) func(context.Context, *agentPath) (*struct{}, error) {
	return func(ctx context.Context, in *agentPath) (*struct{}, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		a, p := loadOwned(ctx, log, "agent", in.AgentID, agents.Get, agentOwner, who.mayAccess)
		if p != nil {
			return nil, p
		}
		if err := agents.Delete(ctx, a.ID); err != nil {
			return nil, problemFor(ctx, log, err, details{
				notFound: fmt.Sprintf("agent %q does not exist", a.ID),
				conflict: fmt.Sprintf("agent %q has tasks that refer to it; it cannot be deleted, but it can be set offline", a.ID),
			})
		}
		return nil, nil
	}
}

// heartbeatRequest is an agent's report (the seed's shape).
type heartbeatRequest struct {
	_      struct{} `json:"-" additionalProperties:"true"`
	Status string   `json:"status" enum:"active,idle,busy,degraded,offline" example:"active"`
}

type heartbeatInput struct {
	AgentID string `path:"agent_id" doc:"The agent's id, a UUID"`
	Body    heartbeatRequest
}

type heartbeatResponse struct {
	Status string `json:"status" enum:"heartbeat_received" example:"heartbeat_received"`
}

type heartbeatOutput struct {
	Body heartbeatResponse
}

// handleHeartbeat records an agent's status and the time of the report in
// the store, then publishes it to sink (when there is one) for presence
// watchers. The store is written first: it is the record, and a heartbeat
// the sink then refuses is answered 503 so that the agent retries, which
// repeats the store update harmlessly.
func handleHeartbeat(log *slog.Logger, agents agentStore, sink HeartbeatSink, now func() time.Time) func(context.Context, *heartbeatInput) (*heartbeatOutput, error) {
	return func(ctx context.Context, in *heartbeatInput) (*heartbeatOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		a, p := loadOwned(ctx, log, "agent", in.AgentID, agents.Get, agentOwner, who.mayHeartbeat)
		if p != nil {
			return nil, p
		}
		at := now().UTC()
		status := in.Body.Status
		if _, err := agents.Update(ctx, a.ID, store.AgentUpdate{Status: &status, LastHeartbeat: &at}); err != nil {
			return nil, problemFor(ctx, log, err, details{notFound: fmt.Sprintf("agent %q does not exist", a.ID)})
		}
		if sink != nil {
			if err := sink.PutHeartbeat(ctx, a.ID, agentHealth(status), at); err != nil {
				log.WarnContext(ctx, "gateway: publish heartbeat", "request_id", requestIDFrom(ctx), "agent_id", a.ID, "err", err)
				return nil, unavailableProblem()
			}
		}
		return &heartbeatOutput{Body: heartbeatResponse{Status: "heartbeat_received"}}, nil
	}
}
