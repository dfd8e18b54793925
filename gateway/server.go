package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// Limits and timeouts of the HTTP server.
const (
	// bodyLimit is the largest request body accepted (the seed's 10 MB).
	bodyLimit = 10 << 20
	// readTimeout bounds reading one whole request, headers and body: long
	// enough for a 10 MB body on a slow link, short enough to shed clients
	// that trickle bytes.
	readTimeout = 30 * time.Second
	// writeTimeout bounds writing a response.
	writeTimeout = 30 * time.Second
	// idleTimeout closes keep-alive connections nobody uses.
	idleTimeout = 120 * time.Second
)

// Defaults applied by New to zero Options fields.
const (
	defaultMaxAttempts = 3
	defaultTokenExpiry = 60 * time.Minute
	defaultIssuer      = "ymera"
	defaultAudience    = "ymera"
)

// TaskReader reads tasks as the store keeps them; store.Tasks satisfies it.
type TaskReader interface {
	// Get returns store.ErrNotFound when there is no task with that id.
	Get(ctx context.Context, id string) (store.Task, error)
	// List returns tasks newest first, filtered and paged by f.
	List(ctx context.Context, f store.TaskFilter) ([]store.Task, error)
}

// Submitter stores a new task and queues it for an agent. It returns an error
// wrapping store.ErrUnavailable when the database or NATS is down (the API
// answers 503 and the client may retry) and store.ErrConflict when the id
// exists.
type Submitter interface {
	Submit(ctx context.Context, t actors.Task) error
}

// TaskTypes names the task types some agent kind offers.
type TaskTypes interface {
	// Known reports whether some agent can process tasks of type name.
	Known(name string) bool
	// List returns every known task type, for error messages.
	List() []string
}

// HealthCheck is one component of the health report: "database", "nats".
type HealthCheck struct {
	// Name is the component's key in the report.
	Name string
	// Check returns nil when the component works. It is given at most
	// healthCheckTimeout.
	Check func(ctx context.Context) error
	// Degraded, when set, lists parts of the component that work only in
	// part (open circuit breakers): each shows as its own component with
	// status "degraded", the report's status becomes "degraded" and the
	// HTTP status stays 200, since the process still takes work.
	Degraded func() []Degradation
}

// Degradation is one degraded part of a component: Name is its key in the
// report, Message says what is wrong in words safe for a public endpoint.
type Degradation struct {
	Name    string
	Message string
}

// Options are the gateway's dependencies and settings. Users, Tasks,
// Submitter, TaskTypes and Auth.Secret are required; other zero fields take
// the defaults documented on them.
type Options struct {
	// Users stores accounts.
	Users store.Users
	// Tasks reads tasks for GET /tasks and GET /tasks/{task_id}.
	Tasks TaskReader
	// TaskWaiter lets a ?wait= of GET /tasks/{task_id} or POST /tasks
	// answer as soon as the task ends (pass the gateway's
	// *transport.TaskEnds); nil makes such a wait read the task once a
	// second instead.
	TaskWaiter TaskWaiter
	// Submitter stores and queues tasks for POST /tasks.
	Submitter Submitter
	// TaskTypes decides which task_type values POST /tasks accepts.
	TaskTypes TaskTypes
	// Canceller serves POST /tasks/{task_id}/cancel; nil leaves it out.
	Canceller Canceller
	// DeadLetters serves /admin/dlq; nil leaves it out.
	DeadLetters DeadLetterAdmin
	// Agents stores agent registrations for /agents; nil leaves the /agents
	// routes out.
	Agents store.Agents
	// Heartbeats publishes agent presence on POST /agents/{agent_id}/heartbeat;
	// nil records heartbeats in Agents only.
	Heartbeats HeartbeatSink
	// Projects stores projects for /projects; nil leaves the /projects
	// routes out.
	Projects store.Projects
	// WebSocket configures /ws; nil WebSocket.Events leaves /ws out.
	WebSocket WebSocketOptions
	// CORSOrigins are the browser origins allowed to call the API and open
	// /ws (CORS_ORIGINS); "*" allows any. Empty allows none but the
	// gateway's own.
	CORSOrigins []string
	// RateLimit limits requests per user and per address, and logins.
	RateLimit RateLimit
	// RequestTimeout bounds the handling of one request (504 after it);
	// zero means 30 s.
	RequestTimeout time.Duration
	// Registry receives the gateway's metrics, served at /metrics with
	// whatever else is registered there (tasks_total); nil means a registry
	// of the gateway's own.
	Registry *prometheus.Registry
	// PoolStats reports the agent pools for the ymera_pool_* gauges; nil
	// leaves them out.
	PoolStats func() []PoolStat
	// Checks make up /health and /readyz; none means always healthy.
	Checks []HealthCheck
	// Auth configures access tokens.
	Auth AuthConfig
	// Denylist keeps logged-out tokens and revoked users (pass the
	// *transport.Conn); nil keeps them in process memory, which is lost at
	// restart and not shared between replicas.
	Denylist Denylist
	// ServiceKeys stores the service role's API keys; nil leaves the
	// /admin/service-keys routes out and refuses every "ymk_" key.
	ServiceKeys store.ServiceKeys
	// Passwords sets argon2id's cost; zero means DefaultPasswordParams.
	Passwords PasswordParams
	// DefaultMaxAttempts is given to every new task; zero means 3.
	DefaultMaxAttempts int
	// Version is reported by /health and the OpenAPI document.
	Version string
	// Logger receives request logs and errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the HTTP API. Create it with New, serve with Listen or Listener,
// stop with Shutdown.
type Server struct {
	app       *fiber.App
	api       huma.API
	log       *slog.Logger
	now       func() time.Time
	opts      Options
	tokens    *tokens
	passwords *passwords
	registry  *prometheus.Registry
	// limiter is nil when rate limiting is off.
	limiter *rateLimiter
	// stopping is closed when Shutdown begins: requests that wait for a
	// task (?wait=) answer at once instead of holding it up.
	stopping chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// New checks opts, applies defaults and builds the API. It fails when a
// required dependency is missing or the token secret is shorter than 32 bytes.
func New(opts Options) (*Server, error) {
	if opts.Users == nil || opts.Tasks == nil || opts.Submitter == nil || opts.TaskTypes == nil {
		return nil, errors.New("gateway: Users, Tasks, Submitter and TaskTypes are required")
	}
	names := map[string]bool{}
	for _, c := range opts.Checks {
		if c.Name == "" || c.Check == nil {
			return nil, fmt.Errorf("gateway: health check %q needs a name and a function", c.Name)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("gateway: two health checks are named %q", c.Name)
		}
		names[c.Name] = true
	}
	if opts.DefaultMaxAttempts <= 0 {
		opts.DefaultMaxAttempts = defaultMaxAttempts
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Denylist == nil {
		opts.Denylist = defaultDenylist(opts.Logger, opts.Now)
	}

	tok, err := newTokens(opts.Auth, opts.Now)
	if err != nil {
		return nil, err
	}
	pw, err := newPasswords(opts.Passwords)
	if err != nil {
		return nil, err
	}
	if pw.params.weakerThan(DefaultPasswordParams()) {
		opts.Logger.Warn("gateway: argon2id parameters are below the production defaults; use them for tests only",
			"memory_kib", pw.params.Memory, "iterations", pw.params.Iterations, "parallelism", pw.params.Parallelism)
	}

	s := &Server{
		log:       opts.Logger,
		now:       opts.Now,
		opts:      opts,
		tokens:    tok,
		passwords: pw,
		stopping:  make(chan struct{}),
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "ymera",
		BodyLimit:             bodyLimit,
		ReadTimeout:           readTimeout,
		WriteTimeout:          writeTimeout,
		IdleTimeout:           idleTimeout,
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
	})
	mw, err := s.buildChain()
	if err != nil {
		return nil, err
	}
	useMiddleware(s.app, s.log, mw)
	s.api = humafiber.New(s.app, s.humaConfig())
	s.api.UseMiddleware(problemStatus, authenticate(s.newAuthenticator()))
	s.routes()
	return s, nil
}

// humaConfig is huma.DefaultConfig without the schema-link transformer (it
// adds "$schema" to bodies, which the seed's shapes do not have, and a Link
// header that would compete with the pagination Link), with the bearer
// scheme declared, our problem transformer installed and the task answers
// written without reflection (jsonFormats).
func (s *Server) humaConfig() huma.Config {
	cfg := huma.DefaultConfig("YMERA", s.opts.Version)
	cfg.CreateHooks = nil
	cfg.Info.Description = "The YMERA multi-agent platform API. Errors are RFC 9457 problem details."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	cfg.Transformers = []huma.Transformer{problemTransformer(s.log)}
	cfg.Formats = jsonFormats(cfg.Formats)
	// Document error responses with our Problem rather than huma's ErrorModel,
	// which problemTransformer replaces on the wire.
	cfg.Components.Schemas.RegisterTypeAlias(reflect.TypeFor[huma.ErrorModel](), reflect.TypeFor[Problem]())
	return cfg
}

// App returns the Fiber app, for tests (app.Test) and for mounting.
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr (":8000") until Shutdown.
func (s *Server) Listen(addr string) error { return s.app.Listen(addr) }

// Listener serves on ln until Shutdown; tests pass a listener on port 0.
func (s *Server) Listener(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for requests in flight,
// until ctx is done; requests waiting for a task answer at once. Calls after
// the first return its result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		close(s.stopping)
		if s.limiter != nil {
			defer s.limiter.stop()
		}
		s.stopErr = s.app.ShutdownWithContext(ctx)
	})
	return s.stopErr
}
