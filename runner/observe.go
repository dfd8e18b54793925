package runner

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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

// CommitObserver is an Observer that also wants each group commit: the
// statement one of the writers (submitwriter.go, startwriter.go,
// resultwriter.go) ran, as one of the Commit* ops, how many items it
// carried, how long it took, and its error if it failed as a whole (an
// item's own verdict, such as a conflict, is not a failure). A node calls
// it when its Observer has it, a Submitter when its Commits is set; the
// writer calls it after the statement returns, on the writer's goroutine,
// so it must be quick and must not block.
type CommitObserver interface {
	GroupCommitted(op string, items int, took time.Duration, err error)
}

// The statements of group commit, as CommitObserver names them.
const (
	CommitEnqueue        = "enqueue"         // submitted tasks and their outbox entry (EnqueueBatch)
	CommitStart          = "start"           // starts of attempts (StartBatch)
	CommitCreateStarted  = "create_started"  // rows made running from their message (CreateStarted)
	CommitFinish         = "finish"          // outcomes (FinishBatch)
	CommitCreateFinished = "create_finished" // rows made with their outcome (CreateFinished)
)

// CommitOps are the Commit* ops in the order a task meets them.
var CommitOps = []string{CommitEnqueue, CommitCreateStarted, CommitStart, CommitFinish, CommitCreateFinished}

// commitReport is where a writer reports its statements; nil reports
// nowhere.
type commitReport func(op string, items int, took time.Duration, err error)

// commitsTo reports to o when it is a CommitObserver, and nowhere otherwise.
func commitsTo(o any) commitReport {
	if c, ok := o.(CommitObserver); ok {
		return c.GroupCommitted
	}
	return nil
}

// report tells of one statement of op with items items, started at start.
func (r commitReport) report(op string, items int, start time.Time, err error) {
	if r != nil {
		r(op, items, time.Since(start), err)
	}
}

// TaskMetrics is an Observer that counts finished tasks in the Prometheus
// counter tasks_total{status,type}, the seed's name. Task types come from
// the registered agent kinds, so the label set stays small. As a
// CommitObserver it also describes group commit, per op:
// ymera_group_commit_items and ymera_group_commit_seconds (histograms of
// each statement's size and duration) and ymera_group_commit_failures_total.
type TaskMetrics struct {
	finished       *prometheus.CounterVec
	commitItems    *prometheus.HistogramVec
	commitSeconds  *prometheus.HistogramVec
	commitFailures *prometheus.CounterVec
}

// NewTaskMetrics registers tasks_total and the group commit metrics with
// reg.
func NewTaskMetrics(reg prometheus.Registerer) (*TaskMetrics, error) {
	m := &TaskMetrics{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasks_total",
			Help: "Tasks that reached a final status, by status and task type.",
		}, []string{"status", "type"}),
		commitItems: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ymera_group_commit_items",
			Help: "Items written by each group commit statement, by op.",
			// Up to the writers' cap of 256.
			Buckets: prometheus.ExponentialBuckets(1, 2, 9),
		}, []string{"op"}),
		commitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ymera_group_commit_seconds",
			Help:    "Duration of each group commit statement, commit included, by op.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"op"}),
		commitFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ymera_group_commit_failures_total",
			Help: "Group commit statements that failed as a whole (nothing of them written), by op.",
		}, []string{"op"}),
	}
	for _, c := range []prometheus.Collector{m.finished, m.commitItems, m.commitSeconds, m.commitFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("runner: register task metrics: %w", err)
		}
	}
	for _, op := range CommitOps { // every op shown from the start
		m.commitItems.WithLabelValues(op)
		m.commitSeconds.WithLabelValues(op)
		m.commitFailures.WithLabelValues(op)
	}
	return m, nil
}

// TaskFinished counts one finished task.
func (m *TaskMetrics) TaskFinished(taskType string, status actors.Status) {
	m.finished.WithLabelValues(string(status), taskType).Inc()
}

// GroupCommitted records one group commit statement.
func (m *TaskMetrics) GroupCommitted(op string, items int, took time.Duration, err error) {
	m.commitItems.WithLabelValues(op).Observe(float64(items))
	m.commitSeconds.WithLabelValues(op).Observe(took.Seconds())
	if err != nil {
		m.commitFailures.WithLabelValues(op).Inc()
	}
}

// CommitTotals are the group commit metrics of one op at one moment:
// statements, their items and seconds, and failures.
type CommitTotals struct {
	Statements, Items, Seconds, Failures float64
}

// CommitTotalsOf reads the group commit metrics TaskMetrics writes, by op,
// from gathered families (a Gatherer's, or /metrics parsed).
func CommitTotalsOf(families []*dto.MetricFamily) map[string]CommitTotals {
	out := map[string]CommitTotals{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			op := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" {
					op = l.GetValue()
				}
			}
			t := out[op]
			switch f.GetName() {
			case "ymera_group_commit_items":
				t.Statements, t.Items = float64(m.GetHistogram().GetSampleCount()), m.GetHistogram().GetSampleSum()
			case "ymera_group_commit_seconds":
				t.Seconds = m.GetHistogram().GetSampleSum()
			case "ymera_group_commit_failures_total":
				t.Failures = m.GetCounter().GetValue()
			default:
				continue
			}
			out[op] = t
		}
	}
	return out
}
