package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// gatewayCmd is `ymera gateway`: the HTTP/WebSocket API and the services
// around it, no agents, on an external NATS.
func gatewayCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the HTTP/WebSocket gateway (no agents) against an external NATS",
		Long: `gateway runs the API, the results service for external agents, the service
intake, the sweeper and the presence watcher. It provisions the streams and
buckets. It needs NATS_URL (an external server or cluster) and, to share the
database with other gateways and nodes, a PostgreSQL DATABASE_URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRole(cmd, e, "gateway", roles{gateway: true}, nil)
		},
	}
	addConfigFlags(cmd.Flags())
	return cmd
}

// nodeCmd is `ymera node`: built-in agent pools only.
func nodeCmd(e env) *cobra.Command {
	var kinds string
	var workers int
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run agent pools (no HTTP) against an external NATS",
		Long: `node runs the built-in agent pools of --kinds with --workers each. Its agents
commit their outcomes to the store directly, so a node needs DATABASE_URL
(PostgreSQL, shared with the gateways) as well as NATS_URL. Start a gateway
first: it creates the streams.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRole(cmd, e, "node", roles{node: true}, func(cfg *Config) error {
				if cmd.Flags().Changed("kinds") {
					cfg.Agent.Kinds = splitList(kinds)
				}
				if cmd.Flags().Changed("workers") {
					if workers < 1 {
						return fmt.Errorf("--workers=%d: must be at least 1", workers)
					}
					cfg.Agent.Workers = workers
				}
				return nil
			})
		},
	}
	addConfigFlags(cmd.Flags())
	cmd.Flags().StringVar(&kinds, "kinds", "", "agent kinds to run, comma-separated (default AGENT_KINDS)")
	cmd.Flags().IntVar(&workers, "workers", 0, "workers per agent kind (default AGENT_WORKERS)")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// runRole loads the configuration, refuses an embedded NATS, and runs the
// role until the command's context ends.
func runRole(cmd *cobra.Command, e env, name string, r roles, adjust func(*Config) error) error {
	cfg, err := loadConfig(cmd.Flags(), e.getenv)
	if err != nil {
		return err
	}
	if adjust != nil {
		if err := adjust(&cfg); err != nil {
			return err
		}
	}
	if err := requireExternalNATS(cfg, name); err != nil {
		return err
	}
	log, closeLog, err := newLogger(cfg, e.stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	return runRoles(cmd.Context(), cfg, log, e.stdout, name, r)
}

// runRoles starts r and runs it until ctx ends, then stops within the grace
// period.
func runRoles(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer, name string, r roles) error {
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	kinds, err := selectKinds(cfg.Agent.Kinds)
	if err != nil {
		return err
	}
	if !r.node {
		kinds = nil
	}
	s, err := startRoles(ctx, cfg, log, kinds, r)
	if err != nil {
		return err
	}
	if s.ln != nil {
		fmt.Fprintf(stdout, "ymera %s: listening on http://%s\n", name, s.addr())
	} else {
		fmt.Fprintf(stdout, "ymera %s: running agent kinds %s\n", name, strings.Join(cfg.Agent.Kinds, ","))
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-s.serveErr:
		log.Error("gateway stopped", "error", serveErr)
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout(cfg))
	defer cancel()
	s.close(stopCtx)
	return serveErr
}
