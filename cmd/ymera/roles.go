package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// roles says which parts a process runs. `ymera serve` runs both; `ymera
// gateway` and `ymera node` one each, against an external NATS, so that
// gateways and agent nodes scale (and fail) separately.
type roles struct {
	// gateway: HTTP and WebSocket API, the results service for external
	// agents, the service intake, the sweeper and the presence watcher. It
	// also provisions the streams and buckets.
	gateway bool
	// node: the built-in agent pools. They commit outcomes to the store
	// themselves, so a node needs DATABASE_URL too.
	node bool
}

// parts is what the roles share: one store and one NATS connection, and the
// metrics and agent-call plumbing both sides report through.
type parts struct {
	reg          *prometheus.Registry
	taskMetrics  *runner.TaskMetrics
	caller       *runner.Caller
	breakerCheck gateway.HealthCheck
	intake       *runner.Intake
}

// startRoles starts the parts r asks for, in order store, transport, node,
// gateway. On error everything already started is closed again.
func startRoles(ctx context.Context, cfg Config, log *slog.Logger, kinds []actors.Kind, r roles) (s *system, err error) {
	s = &system{cfg: cfg, log: log, serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.close(context.Background())
			s = nil
		}
	}()
	applyGC(cfg, log)
	if cfg.DebugAddr != "" {
		if s.debug, err = startDebug(cfg.DebugAddr, log); err != nil {
			return s, err
		}
	}
	if err := s.startStore(ctx, r.gateway); err != nil {
		return s, err
	}
	if err := s.startTransport(ctx, r.gateway); err != nil {
		return s, err
	}
	if r.node {
		if err := s.startNode(ctx, kinds); err != nil {
			return s, err
		}
	}
	if r.gateway {
		if err := s.startGateway(ctx); err != nil {
			return s, err
		}
	}
	return s, nil
}

// startStore opens and migrates the store; the gateway also makes sure the
// first admin exists.
func (s *system) startStore(ctx context.Context, ensureAdminUser bool) (err error) {
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir %s: %w", s.cfg.DataDir, err)
	}
	if s.store, err = openStore(ctx, s.cfg, s.log); err != nil {
		return err
	}
	if err := migrator(s.store).MigrateUp(ctx); err != nil {
		return fmt.Errorf("migrate %s store: %w", s.store.Backend(), err)
	}
	if a, ok := s.store.(interface {
		Advisories(ctx context.Context) ([]string, error)
	}); ok {
		advice, err := a.Advisories(ctx)
		if err != nil {
			s.log.Debug("cannot read the database's settings", "error", err)
		}
		for _, msg := range advice {
			s.log.Warn(msg, "backend", s.store.Backend())
		}
	}
	if ensureAdminUser {
		return ensureAdmin(ctx, s.store.Users(), s.cfg.Admin, s.log)
	}
	return nil
}

// startTransport connects to NATS (embedded unless NATS_URL is set). The
// gateway provisions the streams and buckets; a node only checks they are
// there, since its NATS user may not change them (nats.conf).
func (s *system) startTransport(ctx context.Context, provision bool) (err error) {
	cfg := s.cfg
	s.conn, err = transport.Connect(ctx, natsOptions(cfg, "ymera-"+processRole(provision)), s.log)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	if provision {
		if err := s.conn.Setup(ctx, transport.SetupOptions{
			Replicas:        cfg.NATS.StreamReplicas,
			EventsReplicas:  cfg.NATS.EventsReplicas,
			EventsMaxAge:    cfg.NATS.EventsMaxAge,
			EventsMaxMsgs:   int64(cfg.NATS.EventsMaxMessages),
			HeartbeatTTL:    3 * cfg.Agent.HeartbeatInterval,
			DuplicateWindow: cfg.NATS.DuplicateWindow,
		}); err != nil {
			return fmt.Errorf("nats setup: %w", err)
		}
	} else if _, err := s.conn.JS().Stream(ctx, transport.StreamTasks); err != nil {
		return fmt.Errorf("nats: stream %s not found (start `ymera gateway` first, it creates the streams): %w",
			transport.StreamTasks, err)
	}
	if s.parts.reg, s.parts.taskMetrics, err = newRegistry(); err != nil {
		return err
	}
	s.parts.caller, s.parts.breakerCheck, err = agentCalls(cfg, s.parts.reg, s.store.Tasks(), s.conn, s.log) // breakers.go
	return err
}

// natsOptions is how every role reaches NATS: NATS_URL (credentials in the
// URL included), NATS_CREDS, NATS_NKEY_SEED, NATS_USER and NATS_PASSWORD,
// NATS_TLS_*; or the embedded server when NATS_URL is empty. name shows in
// the server's monitoring.
func natsOptions(cfg Config, name string) transport.Options {
	return transport.Options{
		URL:        cfg.NATS.URL,
		DataDir:    filepath.Join(cfg.DataDir, "nats"),
		Listen:     cfg.NATS.Listen,
		ConfigFile: cfg.NATS.ConfigFile,
		Creds:      cfg.NATS.CredsFile,
		NKeySeed:   cfg.NATS.NKeySeedFile,
		User:       cfg.NATS.User,
		Password:   cfg.NATS.Password,
		TLSCA:      cfg.NATS.TLSCAFile,
		TLSCert:    cfg.NATS.TLSCertFile,
		TLSKey:     cfg.NATS.TLSKeyFile,
		Name:       name,
	}
}

func processRole(gateway bool) string {
	if gateway {
		return "gateway"
	}
	return "node"
}

// startNode starts the agent pools of kinds.
func (s *system) startNode(ctx context.Context, kinds []actors.Kind) (err error) {
	cfg := s.cfg
	s.sup = supervisor.New(s.log)
	s.node, err = runner.StartNode(ctx, runner.NodeConfig{
		Conn:        s.conn,
		Tasks:       s.store.Tasks(),
		Supervisor:  s.sup,
		Kinds:       kinds,
		Workers:     cfg.Agent.Workers,
		TaskTimeout: cfg.Agent.TaskTimeout,
		AckWait:     cfg.Agent.AckWait,
		MaxDeliver:  cfg.Agent.MaxDeliver,
		RetryBase:   cfg.Agent.RetryBackoff,
		StartDelay:  startDelay(cfg.Agent.RecordStartAfter),
		Logger:      s.log,
		// Each pool is a registered agent that heartbeats (presence.go).
		Agents:            s.store.Agents(),
		NodeName:          nodeName(cfg.Agent.NodeName),
		HeartbeatInterval: cfg.Agent.HeartbeatInterval,
		Observer:          s.parts.taskMetrics,
		Caller:            s.parts.caller,
	})
	return err
}

// startDelay is AGENT_RECORD_START_AFTER as runner.NodeConfig takes it,
// where zero means its default and a negative delay none.
func startDelay(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// requireExternalNATS refuses a split role without NATS_URL: an embedded
// server would make a gateway or node that nothing else can reach.
func requireExternalNATS(cfg Config, role string) error {
	if cfg.NATS.URL == "" {
		return errors.New("ymera " + role + " needs an external NATS: set NATS_URL (or run `ymera serve` for everything in one process)")
	}
	return nil
}

// listen binds HTTP_ADDR.
func (s *system) listen() (err error) {
	if s.ln, err = net.Listen("tcp", s.cfg.HTTP.Addr); err != nil {
		return fmt.Errorf("listen on HTTP_ADDR=%s: %w", s.cfg.HTTP.Addr, err)
	}
	go func() { s.serveErr <- s.gw.Listener(s.ln) }()
	return nil
}
