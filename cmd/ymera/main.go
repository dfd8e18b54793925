// Command ymera is the YMERA platform in one binary.
//
//	ymera serve            everything in one process: embedded NATS with
//	                       JetStream, the store, the gateway and every agent
//	ymera gateway          HTTP/WebSocket API only, on an external NATS
//	ymera node             agent pools only (--kinds, --workers), on an external NATS
//	ymera agent            built-in kinds as external agents (sdk.Run): NATS only
//	ymera migrate up|down|status
//	ymera user create      make an account, e.g. the first admin
//	ymera bench            submit tasks through the full path and measure
//	ymera dlq list|replay  the dead-letter queue of a running gateway (admin)
//	ymera version
//
// Configuration comes from flags, the environment, a .env file and defaults,
// in that order; `.env.example` lists every variable.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ymera:", err)
		os.Exit(1)
	}
}

// env is how the program reads its environment; tests pass their own.
type env struct {
	getenv func(string) (string, bool)
	stdout io.Writer
	stderr io.Writer
}

// run executes one command line. It is main without the process: tests call it.
func run(ctx context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "ymera",
		Short:         "YMERA: a multi-agent platform on NATS JetStream",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.AddCommand(
		serveCmd(e),
		gatewayCmd(e),
		nodeCmd(e),
		agentCmd(e),
		migrateCmd(e),
		userCmd(e),
		benchCmd(e),
		dlqCmd(e),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(stdout, "ymera", version) },
		},
	)
	err := root.ExecuteContext(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // interrupted by a signal: a clean stop
	}
	return err
}
