package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/internal/kept"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// NodeConfig configures the agent pools of one process.
type NodeConfig struct {
	Conn       *transport.Conn
	Tasks      TaskStore
	Supervisor *supervisor.Supervisor
	Kinds      []actors.Kind
	// Workers is the number of actors per kind (default 4).
	Workers int
	// TaskTimeout bounds one attempt (default 300 s).
	TaskTimeout time.Duration
	// AckWait and MaxDeliver configure each kind's consumer (defaults 30 s, 5).
	AckWait    time.Duration
	MaxDeliver int
	// RetryBase is the exponential base of retry delays (default 2).
	RetryBase float64
	// StartDelay is how long a first attempt runs before its start is
	// recorded (deferred.go; default 50 ms); an attempt that succeeds
	// sooner is recorded in one write with its outcome. Negative records
	// every start before the agent runs.
	StartDelay time.Duration
	// Backoff and restart budget of the actors.
	Backoff     supervisor.Backoff
	MaxRestarts int
	Window      time.Duration
	Logger      *slog.Logger
	// FetchWait is how long an idle pool waits for a task before asking
	// again (default 5 s); the doorbell wakes it at once when one arrives.
	FetchWait time.Duration
	// noKeepAlive disables InProgress, for tests of redelivery.
	noKeepAlive bool
	// Observer is told of every task that reaches a final status (e.g.
	// TaskMetrics); nil means nobody.
	Observer Observer
	// Caller, when set, is put in every task's context for agent-to-agent
	// calls (actors.CallerFrom); see caller.go.
	Caller *Caller
	// Agents, when set, makes each kind's pool a registered agent (id
	// BuiltinAgentID(NodeName, kind)) that heartbeats every
	// HeartbeatInterval (default 10 s) and also takes the tasks routed to
	// it (builtin.go, routing.go). NodeName must then be stable per node.
	Agents            AgentStore
	NodeName          string
	HeartbeatInterval time.Duration
}

// Node runs one supervised pool per agent kind, each fed by the kind's
// durable consumer.
type Node struct {
	pools []*supervisor.Pool
	log   *slog.Logger
	// stops end what the pools need while they run (doorbells, the cancel
	// subscription, the dead-letter watcher), after the pools.
	stops []func()
	// agents are the pools as registered agents (builtin.go).
	agents []*builtinAgent
	// settling are the attempts whose outcome is still being committed
	// (worker.go, settleAsync); Stop waits for them after the pools.
	settling *settlingSet
}

// StartNode registers every kind's task types, ensures its consumer and
// starts its pool. On error the pools already started are stopped.
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.Conn == nil || cfg.Tasks == nil || cfg.Supervisor == nil {
		return nil, errors.New("runner: node needs a connection, a task store and a supervisor")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = 4
	}
	rt := &runtime{
		tasks:       cfg.Tasks,
		events:      cfg.Conn,
		log:         cfg.Logger,
		taskTimeout: orDefault(cfg.TaskTimeout, 300*time.Second),
		ackWait:     orDefault(cfg.AckWait, 30*time.Second),
		retryBase:   cfg.RetryBase,
		now:         time.Now,
		observer:    cfg.Observer,
		caller:      cfg.Caller,
		startDelay:  cfg.StartDelay,
	}
	if cfg.Conn != nil {
		rt.leases = cfg.Conn
	}
	if rt.observer == nil {
		rt.observer = noObserver{}
	}
	switch {
	case rt.startDelay == 0:
		rt.startDelay = defaultStartDelay
	case rt.startDelay < 0:
		rt.startDelay = 0 // every start recorded first
	}
	rt.cancels, rt.noKeepAlive = newCancels(), cfg.noKeepAlive
	// Up to four settling attempts per worker: enough to keep the workers
	// busy through a commit round trip, few enough that a store that slows
	// down slows them too.
	settlers := 4 * workers * max(len(cfg.Kinds), 1)
	rt.settling = &settlingSet{slots: make(chan struct{}, settlers), run: kept.New(settlers)}
	n := &Node{log: cfg.Logger, settling: rt.settling}
	if err := n.startControl(ctx, cfg, rt); err != nil {
		return nil, err
	}
	rt.tasks = n.groupCommit(rt.tasks, cfg.Logger, commitsTo(rt.observer)) // starts and outcomes committed in batches (startwriter.go, resultwriter.go)
	rt.createFinished = finishCreating(rt.tasks)
	for _, kind := range cfg.Kinds {
		if err := kind.Validate(); err != nil {
			n.Stop(ctx)
			return nil, err
		}
		if err := cfg.Conn.RegisterTaskTypes(ctx, kind.Name, kind.TaskTypes); err != nil {
			n.Stop(ctx)
			return nil, fmt.Errorf("runner: register %s: %w", kind.Name, err)
		}
		self, err := n.registerAgent(ctx, cfg, kind) // nil without cfg.Agents
		if err != nil {
			n.Stop(ctx)
			return nil, err
		}
		src, err := n.prioritySource(ctx, cfg, kind, workers, self)
		if err != nil {
			n.Stop(ctx)
			return nil, fmt.Errorf("runner: consumers for %s: %w", kind.Name, err)
		}
		pool, err := cfg.Supervisor.StartPool(ctx, supervisor.PoolConfig{
			Name:        kind.Name,
			Size:        workers,
			Source:      src,
			NewWorker:   func() supervisor.Worker { return &worker{kind: kind, rt: rt, self: self} },
			Backoff:     cfg.Backoff,
			MaxRestarts: cfg.MaxRestarts,
			Window:      cfg.Window,
			Logger:      cfg.Logger.With("kind", kind.Name),
		})
		if err != nil {
			n.Stop(ctx)
			return nil, fmt.Errorf("runner: pool for %s: %w", kind.Name, err)
		}
		n.pools = append(n.pools, pool)
		if err := n.startKindService(cfg, kind); err != nil { // $SRV discovery (microsvc.go)
			n.Stop(ctx)
			return nil, err
		}
		if self != nil {
			self.pool = pool
		}
		cfg.Logger.InfoContext(ctx, "agent pool started", "kind", kind.Name, "task_types", kind.TaskTypes, "workers", workers)
	}
	n.startHeartbeats(ctx, cfg)
	return n, nil
}

// Stop stops taking work and waits, until ctx ends, for in-flight tasks.
func (n *Node) Stop(ctx context.Context) {
	for _, p := range n.pools {
		p.Stop(ctx)
	}
	if n.settling != nil {
		n.settling.wait(ctx) // before the result writer stops, among n.stops
		n.settling.run.Stop()
	}
	for i := len(n.stops) - 1; i >= 0; i-- {
		n.stops[i]()
	}
	n.stops = nil
}

// Pools returns the node's pools, one per kind.
func (n *Node) Pools() []*supervisor.Pool { return n.pools }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
