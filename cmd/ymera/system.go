package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/actors/doccheck"
	"github.com/ymera/ymera/actors/security"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/postgres"
	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// builtinKinds are the agent kinds this binary can run, by name.
func builtinKinds() map[string]actors.Kind {
	return map[string]actors.Kind{
		"security":      security.Kind(),
		"documentation": doccheck.Kind(),
		"bench_noop":    benchNoopKind(),
	}
}

// system is a running `ymera serve`: every part, owned here and closed in
// reverse order of opening.
type system struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	conn  *transport.Conn
	types *transport.TaskTypes
	sup   *supervisor.Supervisor
	node  *runner.Node
	// results records the reports of agents outside the platform
	// (runner/report.go, docs/protocol.md).
	results *runner.ReportService
	gw      *gateway.Server
	ln      net.Listener
	parts   parts // roles.go
	debug   *debugServer

	stopBackground context.CancelFunc
	background     sync.WaitGroup
	serveErr       chan error
}

// startSystem is `ymera serve`: every part in one process (roles.go). It
// opens the store (migrating it), connects to NATS (embedded by default),
// starts the agent pools, the sweeper and the gateway. On error everything
// already started is closed again.
func startSystem(ctx context.Context, cfg Config, log *slog.Logger, kinds []actors.Kind) (*system, error) {
	return startRoles(ctx, cfg, log, kinds, roles{gateway: true, node: true})
}

// addr is the gateway's bound address.
func (s *system) addr() string { return s.ln.Addr().String() }

// close stops taking work, lets in-flight tasks finish within ctx, and closes
// every part in reverse order of opening.
func (s *system) close(ctx context.Context) {
	defer s.debug.stop(ctx)
	if s.gw != nil {
		if err := s.gw.Shutdown(ctx); err != nil {
			s.log.Warn("gateway shutdown", "error", err)
		}
	}
	if s.node != nil {
		s.node.Stop(ctx)
	}
	s.parts.intake.Stop()
	if s.results != nil {
		s.results.Stop()
	}
	if s.stopBackground != nil {
		s.stopBackground()
		s.background.Wait()
	}
	if s.sup != nil {
		s.sup.Shutdown(ctx)
	}
	if s.types != nil {
		s.types.Stop()
	}
	if s.conn != nil {
		if err := s.conn.Close(ctx); err != nil {
			s.log.Warn("nats close", "error", err)
		}
	}
	if s.store != nil {
		if err := s.store.Close(); err != nil {
			s.log.Warn("store close", "error", err)
		}
	}
}

// openStore opens PostgreSQL when DATABASE_URL names it, else the embedded
// SQLite file in DATA_DIR.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, error) {
	if cfg.DB.Driver == "postgres" {
		db, err := postgres.Open(ctx, cfg.DB.DSN, postgres.Options{
			PoolSize:    cfg.DB.PoolSize,
			MaxOverflow: cfg.DB.MaxOverflow,
			PoolTimeout: cfg.DB.PoolTimeout,
			PoolRecycle: cfg.DB.PoolRecycle,
			Echo:        cfg.DB.Echo,
			Logger:      log,
		})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, nil
	}
	path := cfg.DB.DSN
	db, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	return db, nil
}

// migrator reaches the migrations of whichever backend is open.
func migrator(s store.Store) store.Migrator {
	m, ok := s.(store.Migrator)
	if !ok {
		panic(fmt.Sprintf("store backend %s has no migrations", s.Backend()))
	}
	return m
}

// jwtSecret returns the configured HS256 secret or, when none is set, one
// kept in DATA_DIR (made on first start) so tokens survive restarts.
func jwtSecret(cfg Config, log *slog.Logger) ([]byte, error) {
	if cfg.JWT.SecretKey != "" {
		return []byte(cfg.JWT.SecretKey), nil
	}
	path := filepath.Join(cfg.DataDir, "jwt_secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		log.Warn("JWT_SECRET_KEY is not set; using the secret kept in DATA_DIR", "path", path)
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("keep JWT secret in %s: %w", path, err)
	}
	log.Warn("JWT_SECRET_KEY is not set; generated a random secret and kept it in DATA_DIR. Set JWT_SECRET_KEY in production.", "path", path)
	return []byte(secret), nil
}

// selectKinds resolves AGENT_KINDS names to kinds.
func selectKinds(names []string) ([]actors.Kind, error) {
	all := builtinKinds()
	out := make([]actors.Kind, 0, len(names))
	for _, n := range names {
		k, ok := all[n]
		if !ok {
			known := slices.Sorted(maps.Keys(all))
			return nil, fmt.Errorf("AGENT_KINDS: unknown agent kind %q (known: %s)", n, strings.Join(known, ", "))
		}
		out = append(out, k)
	}
	return out, nil
}

// queue adapts the transport's publish to the runner's Queue.
type queue struct{ c *transport.Conn }

func (q queue) PublishTask(ctx context.Context, t actors.Task) error {
	_, err := q.c.PublishTask(ctx, t)
	return err
}

// shutdownTimeout bounds the whole stop sequence.
func shutdownTimeout(cfg Config) time.Duration {
	if cfg.ShutdownGracePeriod > 0 {
		return cfg.ShutdownGracePeriod
	}
	return 25 * time.Second
}
