package security

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
)

func TestPerfZZ(t *testing.T) {
	code := strings.Repeat("def handler(req):\n    password = get_pw(req)  # read the token\n    return subprocess.run(['ls', req.dir], check=True)\n", 70000)
	mini := strings.Repeat("var a=b.c(d,\"e\");el.innerHTML=x;f=g/h;", 250000)
	for _, tc := range []struct{ name, path, content string }{
		{"python 10MB", "a.py", code},
		{"js one line", "a.js", mini},
		{"unclosed subprocess", "a.py", strings.Repeat("subprocess.run(", 600000)},
		{"nested yaml", "a.py", strings.Repeat("yaml.load(", 900000)},
		{"go big", "a.go", "package a\n" + strings.Repeat("func f(db DB, n string) { q := \"a\" + n; db.Query(q) }\n", 180000)},
		{"txt one line", "a.txt", strings.Repeat("password token secret ", 450000)},
	} {
		start := time.Now()
		r, _ := Scan(context.Background(), []actors.SourceFile{{Path: tc.path, Content: tc.content}})
		t.Logf("%-20s %5.1f MB %8d findings %v", tc.name, float64(len(tc.content))/1e6, len(r.Findings), time.Since(start))
	}
}
