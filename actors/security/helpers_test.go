package security

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ymera/ymera/actors"
)

// hit is one expected finding: a line and a rule.
type hit struct {
	line int
	rule string
}

func (h hit) String() string { return fmt.Sprintf("%d:%s", h.line, h.rule) }

// scanCase is one file and the findings expected from it.
type scanCase struct {
	name    string
	path    string
	content string
	want    []hit
}

// runScanCases scans each case's file on its own and compares the findings
// (line and rule, in report order) with the expected ones.
func runScanCases(t *testing.T, cases []scanCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Scan(context.Background(), []actors.SourceFile{{Path: tc.path, Content: tc.content}})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			got := hits(r.Findings)
			want := tc.want
			if want == nil {
				want = []hit{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings = %v, want %v\nmessages:\n%s\ncontent:\n%s", got, want, messages(r.Findings), tc.content)
			}
		})
	}
}

func hits(fs []Finding) []hit {
	out := []hit{}
	for _, f := range fs {
		out = append(out, hit{f.Line, f.Rule})
	}
	return out
}

func messages(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s:%d %s %s: %s\n", f.File, f.Line, f.Rule, f.Severity, f.Message)
	}
	return b.String()
}

// lines joins source lines with newlines, so that fixtures read like code and
// the line numbers in expectations are easy to count.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
