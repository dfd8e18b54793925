package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/sdk"
	"github.com/ymera/ymera/transport"
)

// agentCmd is `ymera agent`: built-in kinds run as external agents, through
// package sdk and docs/protocol.md, with nothing but a NATS connection. It
// is the reference Go agent: the same actors.Kind a node runs in-process,
// on the path any other agent takes.
func agentCmd(e env) *cobra.Command {
	var (
		kinds   string
		workers int
		agentID string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run built-in agent kinds as external agents (NATS only, no database)",
		Long: `agent runs the built-in agent kinds of --kinds (default: every kind that is
not only for benchmarks) with --workers each, as external agents over the NATS
protocol of docs/protocol.md, the way any agent outside the platform runs. It
needs NATS_URL and a NATS user allowed that protocol (nats.conf: agent), but
no database and no HTTP: a gateway records the outcomes it reports.

Each kind is one agent. Its id is stable across restarts (derived from
NODE_NAME, or the host name, and the kind), so its routed consumers are
reused. To see an agent in GET /agents and route tasks to it with agent_id,
register it first (POST /agents, with the kind's task types as capabilities)
and run it with --agent-id set to the id that returns.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			if err := requireExternalNATS(cfg, "agent"); err != nil {
				return err
			}
			names := defaultAgentKinds()
			if cmd.Flags().Changed("kinds") {
				names = splitList(kinds)
			}
			if cmd.Flags().Changed("workers") {
				if workers < 1 {
					return fmt.Errorf("--workers=%d: must be at least 1", workers)
				}
				cfg.Agent.Workers = workers
			}
			plan, err := planAgents(names, agentID, nodeName(cfg.Agent.NodeName))
			if err != nil {
				return err
			}
			log, closeLog, err := newLogger(cfg, e.stderr)
			if err != nil {
				return err
			}
			defer closeLog()
			return runAgents(cmd.Context(), cfg, log, e.stdout, plan)
		},
	}
	addConfigFlags(cmd.Flags())
	cmd.Flags().StringVar(&kinds, "kinds", "",
		"built-in agent kinds to run, comma-separated (default "+strings.Join(defaultAgentKinds(), ",")+")")
	cmd.Flags().IntVar(&workers, "workers", 0, "tasks run at once per agent kind (default AGENT_WORKERS)")
	cmd.Flags().StringVar(&agentID, "agent-id", "",
		"agent id of the one kind in --kinds, e.g. one registered with POST /agents (default derived from NODE_NAME and the kind)")
	return cmd
}

// defaultAgentKinds are the built-in kinds `ymera agent` runs without
// --kinds: all but bench_noop, which only `ymera bench` and the tests need.
func defaultAgentKinds() []string {
	all := builtinKinds()
	delete(all, benchNoopKind().Name)
	return slices.Sorted(maps.Keys(all))
}

// agentRun is one kind to run and the id it runs under.
type agentRun struct {
	kind actors.Kind
	id   string
}

// agentIDNamespace is the UUID namespace of the default ids of `ymera
// agent`. It differs from the built-in pools' (runner.BuiltinAgentID): a
// node and an agent process on the same host running the same kind are two
// agents, each with its own heartbeat key and routed consumers.
var agentIDNamespace = uuid.MustParse("0b4f6c3e-91d2-4a57-8e0c-5d7a2f16b389")

// externalAgentID is the default id of kind run by `ymera agent` on node:
// a UUIDv5 of "<node>/<kind>", the same on every start, so a restarted
// process takes its routed consumers back instead of leaving four durable
// consumers behind each time.
func externalAgentID(node, kind string) string {
	return uuid.NewSHA1(agentIDNamespace, []byte(node+"/"+kind)).String()
}

// planAgents resolves --kinds and --agent-id into the agents to run, with a
// one-line error naming the bad value.
func planAgents(names []string, agentID, node string) ([]agentRun, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("--kinds: no agent kind given (known: %s)", strings.Join(slices.Sorted(maps.Keys(builtinKinds())), ", "))
	}
	if agentID != "" && len(names) != 1 {
		return nil, fmt.Errorf("--agent-id=%s: names one agent, but --kinds has %d kinds (%s); run one process per kind",
			agentID, len(names), strings.Join(names, ","))
	}
	if agentID != "" && !transport.ValidAgentID(agentID) {
		return nil, fmt.Errorf("--agent-id=%q: expected 1-128 characters of [A-Za-z0-9_-]", agentID)
	}
	all := builtinKinds()
	plan := make([]agentRun, 0, len(names))
	for i, n := range names {
		k, ok := all[n]
		if !ok {
			return nil, fmt.Errorf("--kinds: unknown agent kind %q (known: %s)", n, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
		}
		if slices.Contains(names[:i], n) {
			return nil, fmt.Errorf("--kinds: agent kind %q is named twice", n)
		}
		id := agentID
		if id == "" {
			id = externalAgentID(node, n)
		}
		plan = append(plan, agentRun{kind: k, id: id})
	}
	return plan, nil
}

// runAgents connects to NATS and runs every agent of plan through sdk.Run
// until ctx ends (a clean stop, nil) or one of them cannot start (its
// error, after the others have stopped).
func runAgents(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer, plan []agentRun) error {
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	applyGC(cfg, log)
	if cfg.DebugAddr != "" {
		d, err := startDebug(cfg.DebugAddr, log)
		if err != nil {
			return err
		}
		defer d.stop(context.WithoutCancel(ctx))
	}
	conn, err := transport.Connect(ctx, natsOptions(cfg, "ymera-agent"), log)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout(cfg))
		defer cancel()
		if err := conn.Close(stopCtx); err != nil {
			log.Warn("nats close", "error", err)
		}
	}()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	ready := make(chan struct{}, len(plan))
	for _, a := range plan {
		wg.Go(func() {
			err := sdk.Run(runCtx, conn.NC(), withTaskTimeout(a.kind, cfg.Agent.TaskTimeout), sdk.Options{
				AgentID:           a.id,
				Workers:           cfg.Agent.Workers,
				HeartbeatInterval: cfg.Agent.HeartbeatInterval,
				AckWait:           cfg.Agent.AckWait, // the nodes' settings: the kind's consumers are shared
				MaxDeliver:        cfg.Agent.MaxDeliver,
				Logger:            log,
				Ready:             func() { ready <- struct{}{} },
			})
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("agent %s: %w", a.kind.Name, err)
				}
				errMu.Unlock()
				stop() // one kind failing to start stops the process
			}
		})
	}

	// The ready line comes only once every agent can be given work.
	waiting := len(plan)
	for waiting > 0 && runCtx.Err() == nil {
		select {
		case <-ready:
			waiting--
		case <-runCtx.Done():
		}
	}
	if waiting == 0 {
		desc := make([]string, len(plan))
		for i, a := range plan {
			desc[i] = fmt.Sprintf("%s (agent %s)", a.kind.Name, a.id)
		}
		fmt.Fprintf(stdout, "ymera agent: running agent kinds %s\n", strings.Join(desc, ", "))
	}
	wg.Wait()
	return firstErr
}

// withTaskTimeout bounds every attempt of kind by AGENT_TASK_TIMEOUT, as a
// node does for its pools: the platform enforces no timeout on external
// agents (docs/protocol.md), so the agent keeps its own.
func withTaskTimeout(kind actors.Kind, limit time.Duration) actors.Kind {
	newAgent := kind.New
	kind.New = func() actors.Agent { return &timeoutAgent{inner: newAgent(), limit: limit} }
	return kind
}

// timeoutAgent runs its inner agent's Process under a deadline and passes
// the lifecycle hooks through.
type timeoutAgent struct {
	inner actors.Agent
	limit time.Duration
}

// Process fails the attempt permanently when the deadline, not the caller,
// ended it: a node records such an attempt as timed out, without a retry,
// and the protocol's nearest outcome is a permanent failure.
func (a *timeoutAgent) Process(ctx context.Context, t actors.Task) (actors.Result, error) {
	tctx, cancel := context.WithTimeout(ctx, a.limit)
	defer cancel()
	res, err := a.inner.Process(tctx, t)
	if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return actors.Result{}, actors.Permanent(fmt.Errorf("task timed out after %s", a.limit))
	}
	return res, err
}

func (a *timeoutAgent) Initialize(ctx context.Context) error {
	if in, ok := a.inner.(actors.Initializer); ok {
		return in.Initialize(ctx)
	}
	return nil
}

func (a *timeoutAgent) Cleanup(ctx context.Context) error {
	if cl, ok := a.inner.(actors.Cleaner); ok {
		return cl.Cleanup(ctx)
	}
	return nil
}

func (a *timeoutAgent) HealthCheck(ctx context.Context) actors.Health {
	if hc, ok := a.inner.(actors.HealthChecker); ok {
		return hc.HealthCheck(ctx)
	}
	return actors.Health{Status: actors.Healthy}
}
