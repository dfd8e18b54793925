package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// Defaults of Options.
const (
	DefaultWorkers           = 4
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultAckWait           = 30 * time.Second
	DefaultMaxDeliver        = 5
	DefaultKeepAlive         = DefaultAckWait / 3
	DefaultRequestTimeout    = 10 * time.Second
	DefaultPollInterval      = time.Second
)

// Options tunes Run. The zero value is usable.
type Options struct {
	// AgentID names this process in heartbeats and reports, and its direct
	// consumers (tasks routed to it alone). 1-128 characters of
	// [A-Za-z0-9_-]; default a new UUID.
	AgentID string
	// Workers is how many tasks run at once, one agent instance each;
	// default DefaultWorkers.
	Workers int
	// HeartbeatInterval is the rhythm of the presence beats; the platform
	// sees the agent offline 30 s after the last one. Default 10 s.
	HeartbeatInterval time.Duration
	// AckWait and MaxDeliver are the consumers' ack deadline and delivery
	// cap (transport.ConsumerOptions). The kind's shared consumers are one
	// per kind for the whole platform, and whoever declares them last sets
	// them, so an agent should pass what the platform's nodes use
	// (AGENT_ACK_WAIT, AGENT_MAX_DELIVER). Defaults 30 s and 5, the nodes'
	// defaults.
	AckWait    time.Duration
	MaxDeliver int
	// KeepAlive is how often a running task's lease is renewed (InProgress);
	// it must stay well under AckWait. Default a third of AckWait.
	KeepAlive time.Duration
	// RequestTimeout bounds each report to the results service; default 10 s.
	RequestTimeout time.Duration
	// PollInterval is how long an idle worker waits before looking at the
	// queues again. External agents may not subscribe to the platform's
	// doorbell (nats.conf), so they poll; default 1 s.
	PollInterval time.Duration
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
	// Ready, when set, is called once, after the kind's types are
	// registered, its consumers declared, every worker's instance
	// initialized and the first heartbeat sent: from then on the platform
	// knows the agent and can route work to it. It runs on the heartbeat's
	// goroutine and must not block.
	Ready func()
}

func (o Options) withDefaults() Options {
	if o.AgentID == "" {
		o.AgentID = uuid.NewString()
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = DefaultMaxDeliver
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = o.AckWait / 3
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// agent is one Run: the shared state of its workers.
type agent struct {
	conn      *transport.Conn
	nc        *nats.Conn
	kind      actors.Kind
	opts      Options
	log       *slog.Logger
	consumers []*transport.TaskConsumer // highest priority first, direct before kind

	mu       sync.Mutex
	running  map[string]context.CancelCauseFunc // task id → cancel of its Process
	inFlight int
}

// errCancelled is the cause of a task context cancelled by a cancel request.
var errCancelled = errors.New("task cancelled")

// Run runs kind as an external agent on nc until ctx ends, then returns
// nil once the running tasks are settled: a task whose Process returns an
// error because ctx ended is handed back (nak) for another delivery rather
// than reported as a failure, and one that finishes anyway is reported as
// usual. It returns an error at once when the agent cannot start (invalid
// kind or options, a task type owned by another kind, NATS refusing the
// consumers). Run does not close nc.
func Run(ctx context.Context, nc *nats.Conn, kind actors.Kind, opts Options) error {
	if err := kind.Validate(); err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	opts = opts.withDefaults()
	if !transport.ValidAgentID(opts.AgentID) {
		return fmt.Errorf("sdk: agent id %q must be 1-128 characters of [A-Za-z0-9_-]", opts.AgentID)
	}
	log := opts.Logger.With("kind", kind.Name, "agent_id", opts.AgentID)
	conn, err := transport.Wrap(nc, log)
	if err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	a := &agent{conn: conn, nc: nc, kind: kind, opts: opts, log: log, running: make(map[string]context.CancelCauseFunc)}
	if err := a.declare(ctx); err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	stopCancels, err := conn.SubscribeCancels(a.cancel)
	if err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	defer stopCancels()
	svc, err := a.startService()
	if err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	defer func() { _ = svc.Stop() }()

	// Every instance is initialized before the first beat, so that the
	// platform routes work only to an agent able to take it.
	instances := make([]actors.Agent, opts.Workers)
	defer func() { a.cleanup(instances) }()
	for i := range instances {
		instances[i] = kind.New()
		if in, ok := instances[i].(actors.Initializer); ok {
			if err := in.Initialize(ctx); err != nil {
				return fmt.Errorf("sdk: initialize %s: %w", kind.Name, err)
			}
		}
	}

	var wg sync.WaitGroup
	wg.Go(func() { a.heartbeat(ctx, instances[0]) })
	for _, inst := range instances {
		wg.Go(func() { a.work(ctx, inst) })
	}
	log.Info("external agent running", "workers", opts.Workers)
	wg.Wait()
	return nil
}

// declare registers the kind's task types and binds the consumers exactly
// as the platform's own nodes declare them.
func (a *agent) declare(ctx context.Context) error {
	if err := a.conn.RegisterTaskTypes(ctx, a.kind.Name, a.kind.TaskTypes); err != nil {
		return err
	}
	co := transport.ConsumerOptions{Kind: a.kind.Name, TaskTypes: a.kind.TaskTypes, PoolSize: a.opts.Workers,
		AckWait: a.opts.AckWait, MaxDeliver: a.opts.MaxDeliver}
	direct, err := a.conn.EnsureAgentConsumers(ctx, a.opts.AgentID, co)
	if err != nil {
		return err
	}
	byKind, err := a.conn.EnsurePriorityConsumers(ctx, co)
	if err != nil {
		return err
	}
	// Both lists are in actors.Priorities order; per priority, the tasks
	// routed to this agent alone come first.
	for i := range byKind {
		a.consumers = append(a.consumers, direct[i], byKind[i])
	}
	return nil
}

// cancel is called for every cancel request; only a task running here
// is affected.
func (a *agent) cancel(taskID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.running[taskID]; ok {
		c(errCancelled)
	}
}

// heartbeat beats until ctx ends, then removes the key: going offline at
// once rather than 30 s later.
func (a *agent) heartbeat(ctx context.Context, inst actors.Agent) {
	beat := func() {
		status := actors.Healthy
		if hc, ok := inst.(actors.HealthChecker); ok {
			status = hc.HealthCheck(ctx).Status
		}
		a.mu.Lock()
		n := a.inFlight
		a.mu.Unlock()
		hb := transport.Heartbeat{Kind: a.kind.Name, Status: status, InFlight: n, Capacity: a.opts.Workers}
		if err := a.conn.PutHeartbeat(ctx, a.opts.AgentID, hb); err != nil && ctx.Err() == nil {
			a.log.Warn("heartbeat failed", "err", err)
		}
	}
	beat()
	if a.opts.Ready != nil {
		a.opts.Ready()
	}
	t := time.NewTicker(a.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.RequestTimeout)
			_ = a.conn.DeleteHeartbeat(dctx, a.opts.AgentID)
			cancel()
			return
		case <-t.C:
			beat()
		}
	}
}

// cleanup releases every instance that was made.
func (a *agent) cleanup(instances []actors.Agent) {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestTimeout)
	defer cancel()
	for _, inst := range instances {
		if cl, ok := inst.(actors.Cleaner); ok {
			if err := cl.Cleanup(ctx); err != nil {
				a.log.Warn("cleanup failed", "err", err)
			}
		}
	}
}
