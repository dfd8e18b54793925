package main

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"slices"

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

// commitMetrics is the group commit totals of a server's /metrics, by op.
type commitMetrics map[string]runner.CommitTotals

// serverMetrics is what a run reads of the server's GET /metrics before and
// after: its group commit totals (nil when it has none) and the CPU its
// process has used; doJSON fills it.
type serverMetrics struct {
	commits    commitMetrics
	cpuSeconds float64
	hasCPU     bool
}

func (m *serverMetrics) decode(b []byte) error {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if c := runner.CommitTotalsOf(slices.Collect(maps.Values(families))); len(c) > 0 {
		m.commits = commitMetrics(c)
	}
	if f := families["process_cpu_seconds_total"]; f != nil && len(f.GetMetric()) == 1 {
		if c := f.GetMetric()[0].GetCounter(); c != nil {
			m.cpuSeconds, m.hasCPU = c.GetValue(), true
		}
	}
	return nil
}

// readServerMetrics reads the /metrics of the gateway at base; the zero
// value when it cannot be read, as with a server that has none.
func readServerMetrics(ctx context.Context, c *fasthttp.Client, base string) serverMetrics {
	var m serverMetrics
	if err := doJSON(ctx, c, http.MethodGet, base+"/metrics", "", nil, http.StatusOK, &m); err != nil {
		return serverMetrics{}
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
		n := a.Statements - b.Statements
		if n <= 0 {
			continue
		}
		out[op] = groupCommitStat{
			Statements:        int(n),
			Items:             int(a.Items - b.Items),
			ItemsPerStatement: (a.Items - b.Items) / n,
			MsPerStatement:    (a.Seconds - b.Seconds) / n * 1000,
			Failures:          int(a.Failures - b.Failures),
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
