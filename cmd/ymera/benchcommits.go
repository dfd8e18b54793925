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

// commitMetrics is GET /metrics read into group commit totals by op;
// doJSON fills it.
type commitMetrics map[string]runner.CommitTotals

func (m commitMetrics) decode(b []byte) error {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		return err
	}
	maps.Copy(m, runner.CommitTotalsOf(slices.Collect(maps.Values(families))))
	return nil
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
