package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsDocumented fails when GET /metrics, once a task has run,
// exports a metric that docs/architecture.md's "Metrics" table does not
// list. The Go runtime and process collectors (go_*, process_*) are
// Prometheus's own and documented there as such.
func TestMetricsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Metrics\n")
	if !ok {
		t.Fatal(`docs/architecture.md has no "## Metrics" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")

	_, a := startTestSystem(t, testConfig(t, nil), benchNoopKind())
	a.signUp()
	if tv := a.waitFinal(a.submit("bench_noop", map[string]any{}), 30*time.Second); tv.Status != "completed" {
		t.Fatalf("task ended %s", tv.Status)
	}
	status, body, _ := a.do(http.MethodGet, "/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name := range families {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		checked++
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("metric %s is exported but not in docs/architecture.md, \"Metrics\"", name)
		}
	}
	if checked == 0 {
		t.Fatal("GET /metrics exported none of YMERA's own metrics")
	}
}
