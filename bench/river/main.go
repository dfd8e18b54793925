// Command river-bench is the River side of `make bench-compare`: an HTTP
// server with the same shape as YMERA's task API (POST /auth/register,
// POST /tasks, GET /tasks/{id}) whose tasks are River jobs in PostgreSQL, so
// that `ymera bench --url` drives it unchanged and the two can be compared
// on the same machine and the same database server.
//
// It lives in its own Go module so that River never becomes a dependency of
// the product. README.md explains the fairness choices.
//
// Environment:
//
//	DATABASE_URL      PostgreSQL to use (required); River's tables go in RIVER_SCHEMA
//	RIVER_SCHEMA      schema for River's tables (default "river"), created and migrated at start
//	ADDR              listen address (default 127.0.0.1:8100)
//	RIVER_MAX_WORKERS River workers for the default queue (default 128)
//	RIVER_MAX_CONNS   pgxpool size (default 48)
//	JWT_SECRET_KEY    HS256 key for tokens (default: random per start)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		fmt.Fprintln(os.Stderr, "river-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		return errors.New("DATABASE_URL is required")
	}
	schema := envOr("RIVER_SCHEMA", "river")
	addr := envOr("ADDR", "127.0.0.1:8100")
	maxWorkers, err := envInt("RIVER_MAX_WORKERS", 128)
	if err != nil {
		return err
	}
	maxConns, err := envInt("RIVER_MAX_CONNS", 48)
	if err != nil {
		return err
	}
	secret := []byte(os.Getenv("JWT_SECRET_KEY"))
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}

	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	// pgxpool's default is 4 connections on 2 cores; River's producer,
	// its notifier and every concurrent insert need their own.
	cfg.MaxConns = int32(maxConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := migrate(ctx, pool, schema); err != nil {
		return err
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Schema: schema,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		// River's defaults (100 ms cooldown, 1 s poll) are tuned for a
		// queue that is mostly idle; a throughput run with them would
		// measure River's sleeping. These are its documented minimum-ish
		// values: fetch as soon as a LISTEN/NOTIFY wake-up arrives, at
		// most once per millisecond, and poll every 5 ms regardless.
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: 5 * time.Millisecond,
		Workers:           workers,
		Logger:            log,
	})
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("river start: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	}()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newAPI(client, secret), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutCtx)
	}()
	// The compare driver waits for this line before it starts a run.
	fmt.Printf("river-bench: listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// migrate creates schema and brings River's tables in it up to date.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema})
	if err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

// noopArgs is the job YMERA's bench_noop task corresponds to; it carries
// what YMERA's task row carries, so both store the same bytes.
type noopArgs struct {
	Name       string          `json:"name"`
	TaskType   string          `json:"task_type"`
	UserID     string          `json:"user_id"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

func (noopArgs) Kind() string { return "noop" }

// noopWorker completes each job and records an output, as YMERA's bench_noop
// agent does (its result row carries {"ok":true}).
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (*noopWorker) Work(ctx context.Context, _ *river.Job[noopArgs]) error {
	return river.RecordOutput(ctx, map[string]bool{"ok": true})
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: expected a positive integer", name, v)
	}
	return n, nil
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
