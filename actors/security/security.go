package security

import (
	"cmp"
	"context"
	"slices"

	"github.com/ymera/ymera/actors"
)

// Severity ranks a finding. The score weighs each severity differently.
type Severity string

// The severities, most serious first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// Severities lists every severity, most serious first.
var Severities = []Severity{Critical, High, Medium, Low, Info}

// penalty is what one finding of a severity costs the score. Info findings
// (a file that could not be parsed) say nothing about the code's safety, so
// they cost nothing.
var penalty = map[Severity]int{Critical: 25, High: 10, Medium: 5, Low: 2, Info: 0}

// Finding is one problem at one line of one file.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// MaxFindings is the most findings a report lists. A task result travels on
// the queue and is stored, so it must stay small whatever the input; the
// summary and the score still count every finding.
const MaxFindings = 1000

// Summary counts what a scan looked at and found. BySeverity always holds
// every severity, zero or not, so consumers need no missing-key logic.
type Summary struct {
	FilesScanned int `json:"files_scanned"`
	// Findings counts all findings, listed or not.
	Findings   int              `json:"findings"`
	BySeverity map[Severity]int `json:"by_severity"`
	// Truncated is true when only the first MaxFindings findings are
	// listed; it is omitted otherwise.
	Truncated bool `json:"truncated,omitempty"`
}

// Report is the output of a security_scan task.
type Report struct {
	// Findings are sorted by file, then line, then rule.
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
	// Score is 100 minus the penalties of all findings, floored at 0.
	Score int `json:"score"`
}

// Kind describes the security agent for the supervisor.
func Kind() actors.Kind {
	return actors.Kind{
		Name:        "security",
		Description: "Scans source files for hard-coded secrets and dangerous calls",
		TaskTypes:   []string{"security_scan"},
		New:         func() actors.Agent { return &Agent{} },
	}
}

// Agent runs security_scan tasks. It holds no state: the rules are compiled
// once at package level and are safe for concurrent use.
type Agent struct{}

// Process decodes the task's files, scans them and returns the Report as the
// task output. Bad parameters fail permanently.
func (a *Agent) Process(ctx context.Context, t actors.Task) (actors.Result, error) {
	files, err := actors.DecodeFiles(t.Parameters)
	if err != nil {
		return actors.Result{}, err
	}
	r, err := Scan(ctx, files)
	if err != nil {
		return actors.Result{}, err
	}
	return actors.JSONResult(r)
}

// Scan runs every rule that applies to each file: the secret rules on all
// files whatever their language, and the language rules on Go, Python,
// JavaScript and TypeScript files. A Go file that does not parse yields a
// parse-error finding and the other files are still scanned. The only error
// is ctx's, checked between files.
func Scan(ctx context.Context, files []actors.SourceFile) (Report, error) {
	var findings []Finding
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		findings = append(findings, scanFile(f)...)
	}
	return newReport(len(files), findings), nil
}

func scanFile(f actors.SourceFile) []Finding {
	out := scanSecrets(f.Path, f.Content)
	switch actors.Language(f.Path) {
	case "go":
		out = append(out, scanGo(f.Path, f.Content)...)
	case "python":
		out = append(out, scanPython(f.Path, f.Content)...)
	case "javascript", "typescript":
		out = append(out, scanJS(f.Path, f.Content)...)
	}
	return out
}

func newReport(filesScanned int, findings []Finding) Report {
	if findings == nil {
		findings = []Finding{} // "findings": [] rather than null
	}
	slices.SortStableFunc(findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
	s := Summary{
		FilesScanned: filesScanned,
		Findings:     len(findings),
		BySeverity:   make(map[Severity]int, len(Severities)),
	}
	for _, sev := range Severities {
		s.BySeverity[sev] = 0
	}
	for _, f := range findings {
		s.BySeverity[f.Severity]++
	}
	r := Report{Findings: findings, Summary: s, Score: score(findings)}
	if len(findings) > MaxFindings {
		r.Findings, r.Summary.Truncated = findings[:MaxFindings], true
	}
	return r
}

// score is 100 minus the penalty of every finding, floored at 0. It is a sum
// rather than a per-file average on purpose: one leaked key is as bad in a
// large change as in a small one.
func score(findings []Finding) int {
	s := 100
	for _, f := range findings {
		s -= penalty[f.Severity]
		if s <= 0 {
			return 0
		}
	}
	return s
}
