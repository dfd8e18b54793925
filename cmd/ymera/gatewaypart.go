package main

import (
	"context"
	"fmt"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/transport"
)

// startGateway starts the gateway role: the results service for external
// agents, the task-type watch, the sweeper, the presence watcher, the
// denylist watch, the service intake and the HTTP API.
func (s *system) startGateway(ctx context.Context) (err error) {
	cfg, log := s.cfg, s.log
	auth, err := authConfig(cfg, log)
	if err != nil {
		return err
	}
	if s.results, err = runner.StartReportService(runner.ReportConfig{
		Conn: s.conn, Tasks: s.store.Tasks(), RetryBase: cfg.Agent.RetryBackoff,
		Observer: s.parts.taskMetrics, Logger: log,
	}); err != nil {
		return err
	}
	// The type registry is read after a node in this process registered its
	// kinds, so the gateway knows them from its first request. The watch
	// lives as long as the system (close stops it), not as long as the
	// start-up context.
	if s.types, err = s.conn.WatchTaskTypes(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("nats task types: %w", err)
	}

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopBackground = stop
	sweeper := &runner.Sweeper{Tasks: s.store.Tasks(), Queue: queue{s.conn}, Logger: log, Leases: s.conn}
	s.background.Go(func() { _ = sweeper.Run(bg) })
	selector := startPresence(bg, &s.background, s.conn, s.store.Agents(), s.types, log)
	// Every authenticated request reads the denylist twice: from memory,
	// kept current by a watch, rather than by two round trips to NATS.
	deny := transport.NewDenylistView(s.conn)
	s.background.Go(func() {
		if err := deny.Run(bg); err != nil {
			log.Error("denylist watch stopped; reading the bucket on every request", "error", err)
		}
	})

	submitter := &runner.Submitter{
		Tasks: s.store.Tasks(), Queue: runner.RoutedQueue{Queue: queue{s.conn}, Selector: selector},
		Events: s.conn, Logger: log, Commits: s.parts.taskMetrics,
	}
	// Services publishing over NATS submit through the same path as HTTP
	// (transport/intake.go).
	if s.parts.intake, err = runner.StartIntake(ctx, runner.IntakeConfig{
		Conn: s.conn, Users: s.store.Users(), Submitter: submitter, Events: s.conn,
		Replicas: cfg.NATS.StreamReplicas, DuplicateWindow: cfg.NATS.DuplicateWindow,
		DefaultMaxAttempts: cfg.Agent.MaxAttempts, Logger: log,
	}); err != nil {
		return fmt.Errorf("service intake: %w", err)
	}
	var pools func() []gateway.PoolStat
	if s.node != nil {
		pools = poolStats(s.node)
	}
	s.gw, err = gateway.New(gateway.Options{
		Users:       s.store.Users(),
		Tasks:       s.store.Tasks(),
		TaskWaiter:  s.conn.NewTaskEnds(),
		Agents:      s.store.Agents(),
		Heartbeats:  heartbeats{s.conn},
		Projects:    s.store.Projects(),
		Submitter:   submitter,
		TaskTypes:   s.types,
		Canceller:   &runner.Canceller{Tasks: s.store.Tasks(), Nodes: s.conn, Events: s.conn, Logger: log},
		DeadLetters: deadLetters{&runner.DeadLetters{Conn: s.conn, Tasks: s.store.Tasks(), Events: s.conn, Logger: log}},
		WebSocket:   gateway.WebSocketOptions{Events: s.conn},
		CORSOrigins: cfg.HTTP.CORSOrigins,
		RateLimit: gateway.RateLimit{
			Enabled:           cfg.HTTP.RateLimit.Enabled,
			RequestsPerMinute: cfg.HTTP.RateLimit.RequestsPerMinute,
			LoginPerMinute:    cfg.HTTP.RateLimit.LoginPerMinute,
			Store:             s.conn,
		},
		Registry:  s.parts.reg,
		PoolStats: pools,
		Checks: []gateway.HealthCheck{
			{Name: "database", Check: s.store.Ping},
			{Name: "nats", Check: s.conn.Ping},
			s.parts.breakerCheck,
		},
		Auth:               auth,
		Denylist:           deny,
		ServiceKeys:        s.store.ServiceKeys(),
		DefaultMaxAttempts: cfg.Agent.MaxAttempts,
		Version:            version,
		Logger:             log,
	})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return s.listen()
}
