package breaker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports breaker states: ymera_circuit_breaker_state{target}
// (0 closed, 1 half-open, 2 open) and
// ymera_circuit_breaker_transitions_total{target,from,to}. Pass it to NewSet
// as a Listener.
type Metrics struct {
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
}

// NewMetrics registers the breaker metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ymera_circuit_breaker_state",
			Help: "State of each circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"target"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ymera_circuit_breaker_transitions_total",
			Help: "Circuit breaker state changes, by target and states.",
		}, []string{"target", "from", "to"}),
	}
	for _, c := range []prometheus.Collector{m.state, m.transitions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("breaker: register metrics: %w", err)
		}
	}
	return m, nil
}

// Transition records one state change.
func (m *Metrics) Transition(target string, from, to State) {
	m.state.WithLabelValues(target).Set(float64(to))
	m.transitions.WithLabelValues(target, from.String(), to.String()).Inc()
}
