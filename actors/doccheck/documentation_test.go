package doccheck

import (
	"context"
	"encoding/json"
	"errors"
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
	if k.Name != "documentation" || !slices.Equal(k.TaskTypes, []string{"documentation_check"}) {
		t.Errorf("kind = %q %v", k.Name, k.TaskTypes)
	}
	if k.New() == nil {
		t.Error("New returned nil")
	}
}

func TestProcessOutputShape(t *testing.T) {
	t.Parallel()
	params, _ := json.Marshal(actors.FilesParams{Files: []actors.SourceFile{
		{Path: "pkg/a.go", Content: "// Package pkg is.\npackage pkg\n\n// A is.\nfunc A() {}\n\nfunc B() {}\n"},
		{Path: "pkg/m.py", Content: "\"\"\"M.\"\"\"\ndef f():\n    pass\n"},
		{Path: "web/app.js", Content: "export function f() {}\n"},
		{Path: "pkg/bad.go", Content: "package pkg\nfunc ("},
	}})
	res, err := Kind().New().Process(context.Background(), actors.Task{ID: "t1", Type: "documentation_check", Parameters: params})
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, res.Output)
	}
	if keys := sortedKeys(out); !slices.Equal(keys, []string{"coverage", "documented", "errors", "files", "skipped", "total", "undocumented"}) {
		t.Errorf("top-level keys = %v", keys)
	}
	// pkg (documented), A (documented), B, module m (documented), f.
	if out["documented"] != 3.0 || out["total"] != 5.0 || out["coverage"] != 60.0 {
		t.Errorf("documented/total/coverage = %v/%v/%v, want 3/5/60", out["documented"], out["total"], out["coverage"])
	}

	undoc := out["undocumented"].([]any)
	var got []string
	for _, u := range undoc {
		m := u.(map[string]any)
		if keys := sortedKeys(m); !slices.Equal(keys, []string{"file", "kind", "line", "name"}) {
			t.Errorf("undocumented keys = %v", keys)
		}
		got = append(got, m["file"].(string)+":"+m["kind"].(string)+":"+m["name"].(string))
	}
	if want := []string{"pkg/a.go:function:B", "pkg/m.py:function:f"}; !slices.Equal(got, want) {
		t.Errorf("undocumented = %v, want %v", got, want)
	}

	files := out["files"].([]any)
	if len(files) != 2 {
		t.Fatalf("files = %v", files)
	}
	f0 := files[0].(map[string]any)
	if keys := sortedKeys(f0); !slices.Equal(keys, []string{"coverage", "documented", "language", "path", "total"}) {
		t.Errorf("file keys = %v", keys)
	}
	if f0["path"] != "pkg/a.go" || f0["language"] != "go" || f0["coverage"] != 66.7 || f0["documented"] != 2.0 || f0["total"] != 3.0 {
		t.Errorf("files[0] = %v", f0)
	}
	if f1 := files[1].(map[string]any); f1["language"] != "python" || f1["coverage"] != 50.0 {
		t.Errorf("files[1] = %v", f1)
	}
	if skipped := out["skipped"].([]any); len(skipped) != 1 || skipped[0] != "web/app.js" {
		t.Errorf("skipped = %v", skipped)
	}
	errs := out["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("errors = %v", errs)
	}
	if e := errs[0].(map[string]any); e["file"] != "pkg/bad.go" || !strings.HasPrefix(e["message"].(string), "could not parse: ") {
		t.Errorf("errors[0] = %v", e)
	}
}

func TestNothingToDocumentIsFullCoverage(t *testing.T) {
	t.Parallel()
	res, err := Kind().New().Process(context.Background(), actors.Task{Parameters: json.RawMessage(`{"files":[{"path":"a.js","content":"x"},{"path":"__init__.py","content":""}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"coverage":100,"documented":0,"total":0,"undocumented":[],"files":[{"path":"__init__.py","language":"python","coverage":100,"documented":0,"total":0}],"skipped":["a.js"],"errors":[]}`
	if string(res.Output) != want {
		t.Errorf("output =\n%s\nwant\n%s", res.Output, want)
	}
}

func TestProcessRejectsBadParameters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ params, want string }{
		{`{"files": [}`, "malformed JSON"},
		{`{"files": []}`, "no files"},
		{`{"files": [{"path": "", "content": "package a"}]}`, "files[0] has an empty path"},
	} {
		_, err := (&Agent{}).Process(context.Background(), actors.Task{Parameters: json.RawMessage(tc.params)})
		if err == nil || !actors.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Process(%s) error = %v, want a permanent error mentioning %q", tc.params, err, tc.want)
		}
	}
}

func TestCheckStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, []actors.SourceFile{{Path: "a.go", Content: "package a"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc, total int
		want       float64
	}{
		{0, 0, 100}, {0, 5, 0}, {5, 5, 100}, {1, 3, 33.3}, {2, 3, 66.7}, {1, 8, 12.5}, {999, 1000, 99.9}, {9999, 10000, 100},
	} {
		if got := percent(tc.doc, tc.total); got != tc.want {
			t.Errorf("percent(%d, %d) = %v, want %v", tc.doc, tc.total, got, tc.want)
		}
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"a.go": "go", "A.GO": "go", "x/y.py": "python", `win\dir\z.pyw`: "python",
		"a.js": "javascript", "a.mjs": "javascript", "a.jsx": "javascript", "a.ts": "typescript", "a.d.ts": "typescript",
		"a.tsx": "typescript", "Makefile": "", ".env": "", "go": "", "a.go.txt": "", "dir.go/file": "",
	} {
		if got := actors.Language(path); got != want {
			t.Errorf("Language(%q) = %q, want %q", path, got, want)
		}
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
	content := "package a\n" + strings.Repeat("func F() {}\n", MaxUndocumented+5)
	r, err := Check(context.Background(), []actors.SourceFile{{Path: "a.go", Content: content}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Undocumented) != MaxUndocumented || !r.Truncated {
		t.Errorf("listed %d, truncated %v; want %d, true", len(r.Undocumented), r.Truncated, MaxUndocumented)
	}
	if r.Total != MaxUndocumented+6 || r.Documented != 0 { // the functions and the package clause
		t.Errorf("total %d, documented %d", r.Total, r.Documented)
	}
}

// BenchmarkCheck measures a check of Go and Python files.
func BenchmarkCheck(b *testing.B) {
	gosrc := "// Package a is.\npackage a\n\n" + strings.Repeat("// F is.\nfunc F() {}\n\ntype T struct{}\n\nfunc (t *T) M() {}\n\n", 300)
	py := "\"\"\"M.\"\"\"\n" + strings.Repeat("class A:\n    \"\"\"A.\"\"\"\n\n    def f(self, x,\n          y):\n        return x\n\n", 300)
	files := []actors.SourceFile{{Path: "a/a.go", Content: gosrc}, {Path: "a/m.py", Content: py}}
	b.SetBytes(int64(len(gosrc) + len(py)))
	for b.Loop() {
		if _, err := Check(context.Background(), files); err != nil {
			b.Fatal(err)
		}
	}
}
