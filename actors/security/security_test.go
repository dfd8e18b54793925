package security

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ymera/ymera/actors"
)

func TestKind(t *testing.T) {
	t.Parallel()
	k := Kind()
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	if k.Name != "security" || !slices.Equal(k.TaskTypes, []string{"security_scan"}) {
		t.Errorf("kind = %q %v", k.Name, k.TaskTypes)
	}
	if k.New() == nil {
		t.Error("New returned nil")
	}
}

func TestProcessOutputShape(t *testing.T) {
	t.Parallel()
	params, _ := json.Marshal(actors.FilesParams{Files: []actors.SourceFile{
		{Path: "app.py", Content: "import os\nos.system(cmd)\n"},
		{Path: "main.go", Content: "package main\n\nfunc main() {}\n"},
	}})
	res, err := Kind().New().Process(context.Background(), actors.Task{ID: "t1", Type: "security_scan", Parameters: params})
	if err != nil {
		t.Fatalf("Process: %v", err)
	}

	// Decode generically: the JSON keys are the contract, not the Go types.
	var out map[string]any
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, res.Output)
	}
	if keys := sortedKeys(out); !slices.Equal(keys, []string{"findings", "score", "summary"}) {
		t.Errorf("top-level keys = %v", keys)
	}
	findings := out["findings"].([]any)
	if len(findings) != 1 {
		t.Fatalf("findings = %v", findings)
	}
	f := findings[0].(map[string]any)
	if keys := sortedKeys(f); !slices.Equal(keys, []string{"file", "line", "message", "rule", "severity"}) {
		t.Errorf("finding keys = %v", keys)
	}
	if f["file"] != "app.py" || f["line"] != 2.0 || f["rule"] != "py.os-system" || f["severity"] != "high" {
		t.Errorf("finding = %v", f)
	}
	summary := out["summary"].(map[string]any)
	if summary["files_scanned"] != 2.0 || summary["findings"] != 1.0 {
		t.Errorf("summary = %v", summary)
	}
	bySev := summary["by_severity"].(map[string]any)
	want := map[string]any{"critical": 0.0, "high": 1.0, "medium": 0.0, "low": 0.0, "info": 0.0}
	if len(bySev) != len(want) {
		t.Errorf("by_severity = %v, want %v", bySev, want)
	}
	for k, v := range want {
		if bySev[k] != v {
			t.Errorf("by_severity[%s] = %v, want %v", k, bySev[k], v)
		}
	}
	if out["score"] != 90.0 {
		t.Errorf("score = %v, want 90", out["score"])
	}
}

func TestProcessCleanInputHasEmptyFindings(t *testing.T) {
	t.Parallel()
	res, err := Kind().New().Process(context.Background(), actors.Task{Parameters: json.RawMessage(`{"files":[{"path":"a.go","content":"package a\n"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Output), `"findings":[]`) || !strings.Contains(string(res.Output), `"score":100`) {
		t.Errorf("output = %s", res.Output)
	}
}

func TestProcessRejectsBadParameters(t *testing.T) {
	t.Parallel()
	many, _ := json.Marshal(actors.FilesParams{Files: make([]actors.SourceFile, actors.MaxFiles+1)})
	huge, _ := json.Marshal(actors.FilesParams{Files: []actors.SourceFile{
		{Path: "a.txt", Content: strings.Repeat("a", actors.MaxContentBytes/2)},
		{Path: "b.txt", Content: strings.Repeat("b", actors.MaxContentBytes/2+1)},
	}})
	for _, tc := range []struct {
		name   string
		params string
		want   string
	}{
		{"missing parameters", ``, "no parameters"},
		{"malformed JSON", `{"files": [`, "malformed JSON"},
		{"wrong type", `{"files": "a.go"}`, "malformed JSON"},
		{"no files key", `{}`, "no files"},
		{"empty files", `{"files": []}`, "no files"},
		{"null", `null`, "no files"},
		{"empty path", `{"files": [{"path": "a.go", "content": ""}, {"path": " ", "content": "x"}]}`, "files[1] has an empty path"},
		{"too many files", string(many), "1001 files"},
		{"too much content", string(huge), "more than 10485760 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := (&Agent{}).Process(context.Background(), actors.Task{Parameters: json.RawMessage(tc.params)})
			if err == nil {
				t.Fatal("Process accepted bad parameters")
			}
			if !actors.IsPermanent(err) {
				t.Errorf("error %v is not permanent", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestScanStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Scan(ctx, []actors.SourceFile{{Path: "a.py", Content: "eval(x)"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestReportSortingAndScore(t *testing.T) {
	t.Parallel()
	f := func(file string, line int, sev Severity) Finding {
		return Finding{File: file, Line: line, Rule: "r", Severity: sev}
	}
	r := newReport(3, []Finding{f("b.go", 1, Low), f("a.go", 10, High), f("a.go", 2, Critical), f("a.go", 2, Info)})
	var order []string
	for _, x := range r.Findings {
		order = append(order, fmt.Sprintf("%s:%d:%s", x.File, x.Line, x.Severity))
	}
	if want := []string{"a.go:2:critical", "a.go:2:info", "a.go:10:high", "b.go:1:low"}; !slices.Equal(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
	if r.Score != 100-25-10-2 {
		t.Errorf("score = %d", r.Score)
	}

	for _, tc := range []struct {
		sevs []Severity
		want int
	}{
		{nil, 100},
		{[]Severity{Info, Info, Info}, 100},
		{[]Severity{Low}, 98},
		{[]Severity{Medium, Medium}, 90},
		{[]Severity{High, Critical}, 65},
		{[]Severity{Critical, Critical, Critical, Critical}, 0},
		{[]Severity{Critical, Critical, Critical, Critical, Critical, High}, 0},
	} {
		var fs []Finding
		for _, s := range tc.sevs {
			fs = append(fs, Finding{Severity: s})
		}
		if got := score(fs); got != tc.want {
			t.Errorf("score(%v) = %d, want %d", tc.sevs, got, tc.want)
		}
	}
}

// TestEveryRuleIsDocumented keeps the rule table in doc.go, the severity
// table and the rule constants in step.
func TestEveryRuleIsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for rule, sev := range severityOf {
		if !strings.Contains(string(doc), "//\t"+rule+" ") {
			t.Errorf("rule %s is not in the table in doc.go", rule)
			continue
		}
		row := string(doc)[strings.Index(string(doc), "//\t"+rule+" "):]
		row = row[:strings.IndexByte(row, '\n')]
		if fields := strings.Fields(row); len(fields) < 3 || fields[2] != string(sev) {
			t.Errorf("doc.go row %q does not give severity %s", row, sev)
		}
	}
}

// TestScanOwnSource runs the agent on its own non-test sources, which talk
// about secrets and dangerous calls at length without containing any.
func TestScanOwnSource(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []actors.SourceFile
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, actors.SourceFile{Path: p, Content: string(b)})
	}
	r, err := Scan(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings in the agent's own source:\n%s", messages(r.Findings))
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestReportIsTruncated(t *testing.T) {
	t.Parallel()
	content := strings.Repeat("eval(x)\n", MaxFindings+5)
	r, err := Scan(context.Background(), []actors.SourceFile{{Path: "a.py", Content: content}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != MaxFindings || !r.Summary.Truncated {
		t.Errorf("listed %d findings, truncated %v; want %d, true", len(r.Findings), r.Summary.Truncated, MaxFindings)
	}
	if r.Summary.Findings != MaxFindings+5 || r.Summary.BySeverity[High] != MaxFindings+5 || r.Score != 0 {
		t.Errorf("summary %+v, score %d: want every finding counted", r.Summary, r.Score)
	}
	if last := r.Findings[len(r.Findings)-1]; last.Line != MaxFindings {
		t.Errorf("last listed finding is at line %d, want %d", last.Line, MaxFindings)
	}
}

// BenchmarkScan measures a scan of a mixed, realistic set of files.
func BenchmarkScan(b *testing.B) {
	py := "import os, subprocess\n" + strings.Repeat("\ndef run(cmd):\n    \"\"\"Runs cmd.\"\"\"\n    password = os.getenv('PASSWORD')\n    return subprocess.run(['ls', cmd], check=True)\n", 200)
	js := "const { exec } = require('child_process');\n" + strings.Repeat("// eval(x)\nel.innerHTML = `<b>${name}</b>`;\nconst apiKey = process.env.API_KEY;\nexec(cmd);\n", 200)
	gosrc := "package a\n\nimport (\n\t\"database/sql\"\n\t\"fmt\"\n)\n\n" + strings.Repeat("func f(db *sql.DB, n string) {\n\tq := fmt.Sprintf(\"SELECT %s\", n)\n\tdb.Query(q)\n}\n", 200)
	files := []actors.SourceFile{{Path: "a.py", Content: py}, {Path: "a.js", Content: js}, {Path: "a.go", Content: gosrc}, {Path: ".env", Content: strings.Repeat("DB_HOST=localhost\nDB_PASSWORD=${DB_PASSWORD}\n", 200)}}
	size := 0
	for _, f := range files {
		size += len(f.Content)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		if _, err := Scan(context.Background(), files); err != nil {
			b.Fatal(err)
		}
	}
}
