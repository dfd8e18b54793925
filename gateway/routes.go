package gateway

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// bearerScheme names the OpenAPI security scheme of access tokens. An
// operation listing it in Security is authenticated by the authenticate
// middleware.
const bearerScheme = "bearer"

// bearer is the Security value of authenticated operations.
var bearer = []map[string][]string{{bearerScheme: {}}}

// Body size limits per operation. Credentials are small; a task may carry
// large parameters (source code), up to the server-wide limit. huma refuses
// a body that reaches its limit, Fiber one that exceeds it: +1 makes them agree.
const (
	authBodyLimit = 64 << 10
	taskBodyLimit = bodyLimit + 1
	// resourceBodyLimit bounds an agent or project: names, a description and
	// a config object.
	resourceBodyLimit = 1 << 20
)

// routes is the whole API. /openapi.json and /docs are served by huma.
func (s *Server) routes() {
	o, api := s.opts, s.api

	huma.Register(api, huma.Operation{OperationID: "register", Method: http.MethodPost, Path: "/auth/register",
		Summary: "Create an account and get an access token", Tags: []string{"auth"},
		DefaultStatus: http.StatusCreated, MaxBodyBytes: authBodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusConflict, http.StatusServiceUnavailable}},
		handleRegister(s.log, o.Users, s.passwords, s.tokens, s.now))
	huma.Register(api, huma.Operation{OperationID: "login", Method: http.MethodPost, Path: "/auth/login",
		Summary: "Exchange a username and password for an access token", Tags: []string{"auth"},
		MaxBodyBytes: authBodyLimit,
		Errors:       []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable}},
		handleLogin(s.log, o.Users, s.passwords, s.tokens, s.now))

	huma.Register(api, huma.Operation{OperationID: "submit-task", Method: http.MethodPost, Path: "/tasks",
		Summary: "Submit a task", Tags: []string{"tasks"}, Security: bearer,
		DefaultStatus: http.StatusCreated, MaxBodyBytes: taskBodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}},
		handleSubmitTask(s.log, o.Submitter, o.TaskTypes, o.Agents, o.DefaultMaxAttempts, s.now, s.taskViews()))
	huma.Register(api, huma.Operation{OperationID: "list-tasks", Method: http.MethodGet, Path: "/tasks",
		Summary: "List tasks, newest first", Tags: []string{"tasks"}, Security: bearer,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable}},
		handleListTasks(s.log, o.Tasks))
	huma.Register(api, huma.Operation{OperationID: "get-task", Method: http.MethodGet, Path: "/tasks/{task_id}",
		Summary: "Get a task", Tags: []string{"tasks"}, Security: bearer,
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleGetTask(s.taskViews()))
	s.taskControlRoutes()

	if o.Agents != nil {
		s.agentRoutes()
	}
	if o.Projects != nil {
		s.projectRoutes()
	}
	if o.WebSocket.Events != nil {
		s.webSocketRoutes()
	}

	huma.Register(api, huma.Operation{OperationID: "health", Method: http.MethodGet, Path: "/health",
		Summary: "Health of the gateway and its dependencies", Tags: []string{"health"},
		Responses: healthResponses(api)},
		handleHealth(s.log, o.Checks, o.Version, s.now))
	huma.Register(api, huma.Operation{OperationID: "livez", Method: http.MethodGet, Path: "/livez",
		Summary: "Liveness: the process serves requests", Tags: []string{"health"}},
		handleLivez())
	huma.Register(api, huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness: the dependencies answer", Tags: []string{"health"},
		Responses: healthResponses(api)},
		handleHealth(s.log, o.Checks, o.Version, s.now))
	huma.Register(api, huma.Operation{OperationID: "health-live", Method: http.MethodGet, Path: "/health/live",
		Summary: "Liveness, as /livez", Tags: []string{"health"}},
		handleLivez())
	huma.Register(api, huma.Operation{OperationID: "health-ready", Method: http.MethodGet, Path: "/health/ready",
		Summary: "Readiness, as /readyz: 503 while the database or NATS is unreachable", Tags: []string{"health"},
		Responses: healthResponses(api)},
		handleHealth(s.log, o.Checks, o.Version, s.now))
	s.metricsRoute()
	s.redocRoute()

	s.authRoutes()

	documentSchemaErrorsAs400(api)
}

// taskViews reads tasks for GET /tasks/{task_id} and for a waiting POST
// /tasks.
func (s *Server) taskViews() taskViews {
	return taskViews{log: s.log, tasks: s.opts.Tasks, waiter: s.opts.TaskWaiter, stopping: s.stopping}
}
