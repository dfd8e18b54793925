package main

import (
	"bytes"
	"context"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"github.com/ymera/ymera/runner"
)

// groupCommitStat is what a run saw of one group commit op: the statements
// the server's writers ran meanwhile (the ymera_group_commit_* metrics,
// docs/architecture.md "Metrics"), with --url those of every client of the
// server, not only the bench's.
type groupCommitStat struct {
	Statements        int     `json:"statements"`
	Items             int     `json:"items"`
	ItemsPerStatement float64 `json:"items_per_statement"`
	MsPerStatement    float64 `json:"ms_per_statement"`
	Failures          int     `json:"failures,omitempty"`
}

// commitTotals are the group commit metrics of one op at one moment.
type commitTotals struct{ statements, items, seconds, failures float64 }

// commitMetrics is GET /metrics read into totals by op; doJSON fills it.
type commitMetrics map[string]commitTotals

func (m commitMetrics) decode(b []byte) error {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return err
	}
	for name, f := range families {
		for _, s := range f.GetMetric() {
			op := opOf(s)
			t := m[op]
			switch name {
			case "ymera_group_commit_items":
				t.statements, t.items = float64(s.GetHistogram().GetSampleCount()), s.GetHistogram().GetSampleSum()
			case "ymera_group_commit_seconds":
				t.seconds = s.GetHistogram().GetSampleSum()
			case "ymera_group_commit_failures_total":
				t.failures = s.GetCounter().GetValue()
			default:
				continue
			}
			m[op] = t
		}
	}
	return nil
}

// opOf is the series' op label.
func opOf(s *dto.Metric) string {
	for _, l := range s.GetLabel() {
		if l.GetName() == "op" {
			return l.GetValue()
		}
	}
	return ""
}

// readCommits reads the group commit totals of the gateway at base; nil
// when its /metrics cannot be read, as with a server that has none.
func readCommits(ctx context.Context, c *fasthttp.Client, base string) commitMetrics {
	m := commitMetrics{}
	if err := doJSON(ctx, c, http.MethodGet, base+"/metrics", "", nil, http.StatusOK, m); err != nil || len(m) == 0 {
		return nil
	}
	return m
}

// commitsBetween is what the ops with statements did between two readings;
// nil without both.
func commitsBetween(before, after commitMetrics) map[string]groupCommitStat {
	if before == nil || after == nil {
		return nil
	}
	out := map[string]groupCommitStat{}
	for op, a := range after {
		b := before[op]
		n := a.statements - b.statements
		if n <= 0 {
			continue
		}
		out[op] = groupCommitStat{
			Statements:        int(n),
			Items:             int(a.items - b.items),
			ItemsPerStatement: (a.items - b.items) / n,
			MsPerStatement:    (a.seconds - b.seconds) / n * 1000,
			Failures:          int(a.failures - b.failures),
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// commitOrder is the order the text report lists the ops in: a task's own.
var commitOrder = []string{runner.CommitEnqueue, runner.CommitCreateStarted, runner.CommitStart,
	runner.CommitFinish, runner.CommitCreateFinished}
