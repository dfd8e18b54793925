package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ymera/ymera/breaker"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// agentCalls builds what agent-to-agent calls need: the circuit breakers
// (AGENT_CIRCUIT_BREAKER_THRESHOLD and _TIMEOUT), their metrics on reg, the
// runner's Caller for the node, and the health check that lists open
// breakers in /health.
func agentCalls(cfg Config, reg prometheus.Registerer, tasks store.Tasks, conn *transport.Conn,
	log *slog.Logger) (*runner.Caller, gateway.HealthCheck, error) {
	m, err := breaker.NewMetrics(reg)
	if err != nil {
		return nil, gateway.HealthCheck{}, err
	}
	set := breaker.NewSet(breaker.Config{
		Threshold: cfg.Agent.CircuitBreakerThreshold,
		Timeout:   cfg.Agent.CircuitBreakerTimeout,
	}, m, breakerLog{log})
	caller := &runner.Caller{
		Submitter: &runner.Submitter{Tasks: tasks, Queue: queue{conn}, Events: conn, Logger: log},
		Tasks:     tasks,
		Breakers:  set,
	}
	check := gateway.HealthCheck{
		Name:  "circuit_breakers",
		Check: func(context.Context) error { return nil },
		Degraded: func() []gateway.Degradation {
			var out []gateway.Degradation
			for _, st := range set.NotClosed() {
				out = append(out, gateway.Degradation{
					Name:    "circuit_breaker:" + st.Target,
					Message: "circuit breaker " + st.State.String() + ": calls to " + st.Target + " fail fast",
				})
			}
			return out
		},
	}
	return caller, check, nil
}

// breakerLog logs every breaker transition.
type breakerLog struct{ log *slog.Logger }

func (l breakerLog) Transition(target string, from, to breaker.State) {
	l.log.Warn("circuit breaker changed state", "target", target, "from", from.String(), "to", to.String())
}
