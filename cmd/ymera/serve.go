package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func serveCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run everything in one process: NATS, store, gateway and agents",
		Long: `serve runs the whole platform in one process. With no configuration it starts
an embedded NATS server with JetStream and an embedded SQLite store, both under
DATA_DIR (./data), the gateway on HTTP_ADDR (:8000) and every built-in agent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			log, closeLog, err := newLogger(cfg, e.stderr)
			if err != nil {
				return err
			}
			defer closeLog()
			return serve(cmd.Context(), cfg, log, e.stdout)
		},
	}
	addConfigFlags(cmd.Flags())
	return cmd
}

// serve starts the system and runs it until ctx ends (SIGINT or SIGTERM),
// then stops it within the grace period.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	kinds, err := selectKinds(cfg.Agent.Kinds)
	if err != nil {
		return err
	}
	s, err := startSystem(ctx, cfg, log, kinds)
	if err != nil {
		return err
	}
	log.Info("ymera ready", "http", s.addr(), "store", s.store.Backend(), "nats", natsMode(cfg),
		"data_dir", cfg.DataDir, "version", version)
	// One plain line on stdout, for people and for tests that start the
	// binary on port 0.
	fmt.Fprintf(stdout, "ymera: listening on http://%s\n", s.addr())

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "grace", shutdownTimeout(cfg).String())
	case serveErr = <-s.serveErr:
		log.Error("gateway stopped", "error", serveErr)
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout(cfg))
	defer cancel()
	s.close(stopCtx)
	log.Info("stopped")
	return serveErr
}

func natsMode(cfg Config) string {
	if cfg.NATS.URL == "" {
		return "embedded"
	}
	return "external"
}

// newLogger builds the JSON (or text) slog logger LOG_LEVEL, LOG_FORMAT and
// LOG_FILE ask for.
func newLogger(cfg Config, stderr io.Writer) (*slog.Logger, func(), error) {
	w, closeFn := stderr, func() {}
	if cfg.Log.File != "" {
		f, err := os.OpenFile(cfg.Log.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("LOG_FILE=%s: %w", cfg.Log.File, err)
		}
		w, closeFn = f, func() { _ = f.Close() }
	}
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if strings.EqualFold(cfg.Log.Format, "text") {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h), closeFn, nil
}
