package main

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// nodeName names this process's node for its built-in agents' ids
// (runner.BuiltinAgentID): the host name, which is stable across restarts
// of a machine or a StatefulSet pod, so a restarted node keeps its agent
// rows and the tasks routed to them. NODE_NAME, when set, wins: several
// nodes on one host need distinct names.
func nodeName(configured string) string {
	if configured != "" {
		return configured
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "ymera"
}

// startPresence runs the presence watcher in the background group and
// returns the selector that routes new tasks by it.
func startPresence(ctx context.Context, wg *sync.WaitGroup, conn *transport.Conn, agents store.Agents,
	types *transport.TaskTypes, log *slog.Logger) *runner.Selector {
	w := &runner.PresenceWatcher{Source: conn, Agents: agents, Events: conn, Logger: log, Rescuer: conn}
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			log.Error("presence watcher stopped", "error", err)
		}
	})
	return &runner.Selector{Presence: w, Kinds: types}
}
