package security

import (
	"context"
	"strings"
	"testing"

	"github.com/ymera/ymera/actors"
)

func TestGoRules(t *testing.T) {
	t.Parallel()
	runScanCases(t, []scanCase{
		// Shell commands.
		{name: "exec.Command sh -c", path: "a.go", content: lines(
			`package a`,
			`import "os/exec"`,
			`func f(cmd string) error {`,
			`	return exec.Command("sh", "-c", cmd).Run()`,
			`}`,
		), want: []hit{{4, ruleGoExecShell}}},
		{name: "absolute shell path and a constant script", path: "a.go", content: lines(
			`package a`,
			`import "os/exec"`,
			`var c = exec.Command("/bin/bash", "-c", "ls | wc -l")`,
		), want: []hit{{3, ruleGoExecShell}}},
		{name: "renamed exec import and CommandContext with -lc", path: "a.go", content: lines(
			`package a`,
			`import (`,
			`	"context"`,
			`	run "os/exec"`,
			`)`,
			`func f(ctx context.Context, s string) {`,
			`	_ = run.CommandContext(ctx, "bash", "-lc", s).Run()`,
			`}`,
		), want: []hit{{7, ruleGoExecShell}}},
		{name: "dot import and cmd /C", path: "a.go", content: lines(
			`package a`,
			`import . "os/exec"`,
			`var c = Command("cmd.exe", "/C", "dir")`,
		), want: []hit{{3, ruleGoExecShell}}},
		{name: "commands without a shell script", path: "a.go", content: lines(
			`package a`,
			`import "os/exec"`,
			`func f(dir string) {`,
			`	exec.Command("ls", "-c", dir)`,
			`	exec.Command("sh", "script.sh")`,
			`	exec.Command("git", "commit", "-m", dir)`,
			`	// exec.Command("sh", "-c", dir)`,
			`	_ = "exec.Command(\"sh\", \"-c\", dir)"`,
			`}`,
		), want: nil},
		{name: "an exec package that is not os/exec", path: "a.go", content: lines(
			`package a`,
			`import exec "example.com/remote/exec"`,
			`var c = exec.Command("sh", "-c", "x")`,
		), want: nil},

		// SQL built from strings.
		{name: "concatenation inline", path: "a.go", content: lines(
			`package a`,
			`import "database/sql"`,
			`func f(db *sql.DB, id string) {`,
			`	db.Query("SELECT * FROM users WHERE id = '" + id + "'")`,
			`}`,
		), want: []hit{{4, ruleGoSQLConcat}}},
		{name: "Sprintf inline into QueryRowContext", path: "a.go", content: lines(
			`package a`,
			`import (`,
			`	"context"`,
			`	"database/sql"`,
			`	"fmt"`,
			`)`,
			`func f(ctx context.Context, db *sql.DB, table string) {`,
			`	db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s", table))`,
			`}`,
		), want: []hit{{8, ruleGoSQLConcat}}},
		{name: "local variable from Sprintf", path: "a.go", content: lines(
			`package a`,
			`import "fmt"`,
			`func f(tx Tx, name string) error {`,
			`	q := fmt.Sprintf("DELETE FROM t WHERE name = '%s'", name)`,
			`	_, err := tx.Exec(q)`,
			`	return err`,
			`}`,
		), want: []hit{{5, ruleGoSQLConcat}}},
		{name: "local variable appended to and copied", path: "a.go", content: lines(
			`package a`,
			`func f(db DB, order string) {`,
			`	q := "SELECT * FROM t"`,
			`	q += " ORDER BY " + order`,
			`	query := q`,
			`	var stmt = query`,
			`	db.Prepare(stmt)`,
			`}`,
		), want: []hit{{7, ruleGoSQLConcat}}},
		{name: "renamed fmt", path: "a.go", content: lines(
			`package a`,
			`import f "fmt"`,
			`func g(db DB, id int) { db.ExecContext(ctx, f.Sprintf("DELETE FROM t WHERE id = %d", id)) }`,
		), want: []hit{{3, ruleGoSQLConcat}}},
		{name: "placeholders and constants are safe", path: "a.go", content: lines(
			`package a`,
			`import "fmt"`,
			`const table = "users"`,
			`func f(db DB, id string) {`,
			`	db.Query("SELECT * FROM users WHERE id = $1", id)`,
			`	db.Query("SELECT * FROM " + table + " WHERE id = ?", id)`,
			`	db.Query("SELECT " + "1")`,
			`	const cols = "id, name"`,
			`	db.Query(fmt.Sprintf("SELECT %s FROM %s", cols, table))`,
			`	q := "SELECT 1"`,
			`	q += " LIMIT 1"`,
			`	db.Exec(q)`,
			`	var empty string`,
			`	db.Exec(empty + "SELECT 2")`,
			`}`,
		), want: nil},
		{name: "Sprintf elsewhere is fine", path: "a.go", content: lines(
			`package a`,
			`import "fmt"`,
			`func f(name string) {`,
			`	fmt.Println(fmt.Sprintf("hello %s", name))`,
			`	msg := fmt.Sprintf("hello %s", name)`,
			`	fmt.Println(msg)`,
			`	log.Print("x" + name)`,
			`}`,
		), want: nil},
		{name: "a variable built in another function", path: "a.go", content: lines(
			`package a`,
			`import "fmt"`,
			`func build(name string) string { q := fmt.Sprintf("SELECT %s", name); return q }`,
			`func run(db DB, q string) { db.Query(q) }`,
		), want: nil},
		{name: "a query reassigned to a constant", path: "a.go", content: lines(
			`package a`,
			`func f(db DB, name string) {`,
			`	q := "SELECT " + name`,
			`	q = "SELECT 1"`,
			`	db.Query(q)`,
			`}`,
		), want: nil},
		{name: "Sprintf not from fmt", path: "a.go", content: lines(
			`package a`,
			`import fmt "example.com/safefmt"`,
			`func f(db DB, n string) { db.Query(fmt.Sprintf("SELECT %s", n)) }`,
		), want: nil},

		// TLS and hashes.
		{name: "InsecureSkipVerify in a literal", path: "a.go", content: lines(
			`package a`,
			`import "crypto/tls"`,
			`var c = &tls.Config{`,
			`	MinVersion:         tls.VersionTLS12,`,
			`	InsecureSkipVerify: true,`,
			`}`,
		), want: []hit{{5, ruleGoTLSSkipVerify}}},
		{name: "InsecureSkipVerify assigned", path: "a.go", content: lines(
			`package a`,
			`func f(c *tls.Config) { c.InsecureSkipVerify = true }`,
		), want: []hit{{2, ruleGoTLSSkipVerify}}},
		{name: "InsecureSkipVerify false or configured", path: "a.go", content: lines(
			`package a`,
			`var c = &tls.Config{InsecureSkipVerify: false}`,
			`var d = &tls.Config{InsecureSkipVerify: cfg.Insecure}`,
			`// InsecureSkipVerify: true`,
		), want: nil},
		{name: "weak hash imports", path: "a.go", content: lines(
			`package a`,
			`import (`,
			`	"crypto/md5"`,
			`	"crypto/sha256"`,
			`	legacy "crypto/sha1"`,
			`)`,
		), want: []hit{{3, ruleGoWeakHash}, {5, ruleGoWeakHash}}},

		// Parse errors.
		{name: "a file that does not parse", path: "bad.go", content: lines(`package bad`, ``, `func (`), want: []hit{{3, ruleParseError}}},
		{name: "not Go at all", path: "bad.go", content: "<html></html>", want: []hit{{1, ruleParseError}}},
	})
}

func TestParseErrorDoesNotStopTheScan(t *testing.T) {
	t.Parallel()
	r, err := Scan(context.Background(), []actors.SourceFile{
		{Path: "a_bad.go", Content: "package a\nfunc {"},
		{Path: "b_good.go", Content: "package b\nimport \"os/exec\"\nvar c = exec.Command(\"sh\", \"-c\", x)\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 2 {
		t.Fatalf("findings:\n%s", messages(r.Findings))
	}
	pe := r.Findings[0]
	if pe.File != "a_bad.go" || pe.Rule != ruleParseError || pe.Severity != Info || !strings.HasPrefix(pe.Message, "could not parse: ") {
		t.Errorf("parse error finding = %+v", pe)
	}
	if r.Findings[1].File != "b_good.go" || r.Findings[1].Rule != ruleGoExecShell {
		t.Errorf("second finding = %+v, want go.exec-shell in b_good.go", r.Findings[1])
	}
}
