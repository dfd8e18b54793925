package security

import (
	"context"
	"slices"
	"testing"

	"github.com/ymera/ymera/actors"
)

// FuzzScan feeds arbitrary content to every language's rules at once and
// checks the report stays well-formed. Run it with
//
//	go test -run '^$' -fuzz FuzzScan ./actors/security/
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		"",
		"package a\nimport \"os/exec\"\nvar c = exec.Command(\"sh\", \"-c\", x)\n",
		"package a\nfunc f(db DB, n string) { q := \"a\"; q += n; db.Query(q) }\n",
		"import subprocess\nsubprocess.run(\n  c,\n  shell=True)\n",
		"s = '''unterminated\neval(x)",
		"const t = `${ `${ eval(x) }` }`; el.innerHTML = y; /re[/]\"/.test(z)",
		"password = \"hunter2x\"\nPASSWORD=abc\n-----BEGIN RSA PRIVATE KEY-----\n",
		"`${{{{}}}}}}}}`\"\\",
		"package p\nfunc (",
	} {
		f.Add(seed)
	}
	paths := []string{"f.go", "f.py", "f.js", "f.ts", ".env", "f.yaml", "f.txt"}
	f.Fuzz(func(t *testing.T, content string) {
		files := make([]actors.SourceFile, len(paths))
		for i, p := range paths {
			files[i] = actors.SourceFile{Path: p, Content: content}
		}
		r, err := Scan(context.Background(), files)
		if err != nil {
			t.Fatal(err)
		}
		if r.Score < 0 || r.Score > 100 {
			t.Errorf("score %d out of range", r.Score)
		}
		total := 0
		for _, n := range r.Summary.BySeverity {
			total += n
		}
		if total != len(r.Findings) || r.Summary.Findings != len(r.Findings) {
			t.Errorf("summary %+v does not count %d findings", r.Summary, len(r.Findings))
		}
		if !slices.IsSortedFunc(r.Findings, func(a, b Finding) int {
			if a.File != b.File {
				if a.File < b.File {
					return -1
				}
				return 1
			}
			return a.Line - b.Line
		}) {
			t.Error("findings are not sorted by file and line")
		}
		for _, fd := range r.Findings {
			if fd.Line < 1 {
				t.Errorf("finding with line %d: %+v", fd.Line, fd)
			}
			if _, ok := severityOf[fd.Rule]; !ok {
				t.Errorf("finding with unknown rule %q", fd.Rule)
			}
		}
	})
}
