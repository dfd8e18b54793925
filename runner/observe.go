package runner

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ymera/ymera/actors"
)

// Observer is told about task outcomes as the node records them, for
// metrics. Its methods are called after the outcome is committed, from the
// goroutine settling the attempt (worker.go, settleAsync), many at once, so
// they must be safe for concurrent use, quick, and must not block.
type Observer interface {
	// TaskFinished reports that a task of taskType reached the final status
	// (completed, failed or timeout) on this node.
	TaskFinished(taskType string, status actors.Status)
}

// noObserver is the Observer of a node configured without one.
type noObserver struct{}

func (noObserver) TaskFinished(string, actors.Status) {}

// TaskMetrics is an Observer that counts finished tasks in the Prometheus
// counter tasks_total{status,type}, the seed's name. Task types come from
// the registered agent kinds, so the label set stays small.
type TaskMetrics struct {
	finished *prometheus.CounterVec
}

// NewTaskMetrics registers tasks_total with reg.
func NewTaskMetrics(reg prometheus.Registerer) (*TaskMetrics, error) {
	m := &TaskMetrics{finished: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tasks_total",
		Help: "Tasks that reached a final status, by status and task type.",
	}, []string{"status", "type"})}
	if err := reg.Register(m.finished); err != nil {
		return nil, fmt.Errorf("runner: register tasks_total: %w", err)
	}
	return m, nil
}

// TaskFinished counts one finished task.
func (m *TaskMetrics) TaskFinished(taskType string, status actors.Status) {
	m.finished.WithLabelValues(string(status), taskType).Inc()
}
