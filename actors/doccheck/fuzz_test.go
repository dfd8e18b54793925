package doccheck

import (
	"context"
	"testing"

	"github.com/ymera/ymera/actors"
)

// FuzzCoverage feeds arbitrary content to the Go and Python counters and
// checks the report stays consistent. Run it with
//
//	go test -run '^$' -fuzz FuzzCoverage ./actors/doccheck/
func FuzzCoverage(f *testing.F) {
	for _, seed := range []string{
		"",
		"// Package a is.\npackage a\n\n// F is.\nfunc F() {}\ntype T struct{}\nfunc (t *T[K]) M() {}\n",
		"\"\"\"M.\"\"\"\nclass A:\n    def f(self,\n          x): '''doc'''\n",
		"def f(\\\n):\n\t'''x'''\n  def g(): pass\n",
		"'''unterminated\ndef f():",
		"class (:\n)))]]\ndef :\n@\nasync",
		"package p\nfunc (",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		r, err := Check(context.Background(), []actors.SourceFile{
			{Path: "p/a.go", Content: content},
			{Path: "p/b.py", Content: content},
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.Coverage < 0 || r.Coverage > 100 || r.Documented > r.Total || r.Documented < 0 {
			t.Errorf("coverage %v, documented %d, total %d", r.Coverage, r.Documented, r.Total)
		}
		if len(r.Undocumented) != r.Total-r.Documented {
			t.Errorf("%d undocumented listed, want %d", len(r.Undocumented), r.Total-r.Documented)
		}
		sum := 0
		for _, fc := range r.Files {
			sum += fc.Total
			if fc.Coverage < 0 || fc.Coverage > 100 {
				t.Errorf("file %s coverage %v", fc.Path, fc.Coverage)
			}
		}
		if sum != r.Total {
			t.Errorf("file totals add up to %d, want %d", sum, r.Total)
		}
		for _, u := range r.Undocumented {
			if u.Line < 1 || u.Name == "" {
				t.Errorf("bad undocumented entry %+v", u)
			}
		}
	})
}
