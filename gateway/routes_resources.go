package gateway

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// agentRoutes registers /agents: registration, listing, one agent, and
// heartbeats. Ownership rules are in rbac.go.
func (s *Server) agentRoutes() {
	o, api := s.opts, s.api
	tags := []string{"agents"}
	huma.Register(api, huma.Operation{OperationID: "create-agent", Method: http.MethodPost, Path: "/agents",
		Summary: "Register an agent", Tags: tags, Security: bearer,
		DefaultStatus: http.StatusCreated, MaxBodyBytes: resourceBodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable}},
		handleCreateAgent(s.log, o.Agents, s.now))
	huma.Register(api, huma.Operation{OperationID: "list-agents", Method: http.MethodGet, Path: "/agents",
		Summary: "List agents, oldest first", Tags: tags, Security: bearer,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable}},
		handleListAgents(s.log, o.Agents))
	huma.Register(api, huma.Operation{OperationID: "get-agent", Method: http.MethodGet, Path: "/agents/{agent_id}",
		Summary: "Get an agent", Tags: tags, Security: bearer,
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleGetAgent(s.log, o.Agents))
	huma.Register(api, huma.Operation{OperationID: "update-agent", Method: http.MethodPatch, Path: "/agents/{agent_id}",
		Summary: "Change an agent", Tags: tags, Security: bearer, MaxBodyBytes: resourceBodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleUpdateAgent(s.log, o.Agents))
	huma.Register(api, huma.Operation{OperationID: "delete-agent", Method: http.MethodDelete, Path: "/agents/{agent_id}",
		Summary: "Delete an agent no task refers to", Tags: tags, Security: bearer,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}},
		handleDeleteAgent(s.log, o.Agents))
	huma.Register(api, huma.Operation{OperationID: "agent-heartbeat", Method: http.MethodPost, Path: "/agents/{agent_id}/heartbeat",
		Summary: "Report an agent's status", Tags: tags, Security: bearer, MaxBodyBytes: authBodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleHeartbeat(s.log, o.Agents, o.Heartbeats, s.now))
}

// projectRoutes registers /projects. Ownership rules are in rbac.go.
func (s *Server) projectRoutes() {
	o, api := s.opts, s.api
	tags := []string{"projects"}
	huma.Register(api, huma.Operation{OperationID: "create-project", Method: http.MethodPost, Path: "/projects",
		Summary: "Create a project", Tags: tags, Security: bearer,
		DefaultStatus: http.StatusCreated, MaxBodyBytes: resourceBodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable}},
		handleCreateProject(s.log, o.Projects, s.now))
	huma.Register(api, huma.Operation{OperationID: "list-projects", Method: http.MethodGet, Path: "/projects",
		Summary: "List or search projects, oldest first", Tags: tags, Security: bearer,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable}},
		handleListProjects(s.log, o.Projects))
	huma.Register(api, huma.Operation{OperationID: "get-project", Method: http.MethodGet, Path: "/projects/{project_id}",
		Summary: "Get a project", Tags: tags, Security: bearer,
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleGetProject(s.log, o.Projects))
	huma.Register(api, huma.Operation{OperationID: "update-project", Method: http.MethodPatch, Path: "/projects/{project_id}",
		Summary: "Change a project", Tags: tags, Security: bearer, MaxBodyBytes: resourceBodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleUpdateProject(s.log, o.Projects))
	huma.Register(api, huma.Operation{OperationID: "delete-project", Method: http.MethodDelete, Path: "/projects/{project_id}",
		Summary: "Delete a project nothing refers to", Tags: tags, Security: bearer,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}},
		handleDeleteProject(s.log, o.Projects))
}
