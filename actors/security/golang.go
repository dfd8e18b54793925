package security

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"path"
	"strconv"
	"strings"
)

// The Go rules read the syntax tree (go/parser), not the text, so comments,
// strings and formatting never confuse them and renamed imports resolve:
// with `import run "os/exec"`, run.Command is exec.Command. Only syntax is
// available (no type checking: a task carries files, not a module), so
// names are resolved by import and by local assignment, not by type.

// goSQLMethods are the database/sql (and pgx, sqlx, ...) methods whose first
// argument, or second after a context, is the query text.
var goSQLMethods = map[string]int{
	"Query": 0, "QueryRow": 0, "Exec": 0, "Prepare": 0,
	"QueryContext": 1, "QueryRowContext": 1, "ExecContext": 1, "PrepareContext": 1,
}

// goShells are the programs that run their "-c" argument as a script.
var goShells = map[string]bool{
	"sh": true, "bash": true, "zsh": true, "ksh": true, "dash": true, "ash": true,
	"csh": true, "tcsh": true, "fish": true, "cmd": true, "cmd.exe": true,
	"powershell": true, "powershell.exe": true, "pwsh": true, "pwsh.exe": true,
}

// goWeakHashes are the hash packages broken for security use.
var goWeakHashes = map[string]string{"crypto/md5": "MD5", "crypto/sha1": "SHA-1"}

// scanGo parses one Go file and reports shell commands, SQL built from
// strings, disabled TLS verification and weak hash imports. A file that
// does not parse is one parse-error finding.
func scanGo(file, content string) []Finding {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, content, parser.SkipObjectResolution)
	if err != nil {
		line := 1
		var list scanner.ErrorList
		if errors.As(err, &list) && len(list) > 0 && list[0].Pos.Line > 0 {
			line = list[0].Pos.Line
		}
		return []Finding{newFinding(file, line, ruleParseError, "could not parse: %v", err)}
	}
	v := &goVisitor{file: file, fset: fset, consts: goConsts(f), imports: map[string]string{}, dots: map[string]bool{}}
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := path.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		switch name {
		case "_":
		case ".":
			v.dots[p] = true
		default:
			v.imports[name] = p
		}
		if algo, ok := goWeakHashes[p]; ok {
			v.add(imp.Pos(), ruleGoWeakHash, "%s (%s) is broken for signatures, passwords and MACs; use crypto/sha256 unless this is a non-security checksum", p, algo)
		}
	}
	ast.Walk(v, f)
	return v.out
}

// goConsts collects the names of all constants declared in the file, at any
// level: a constant concatenated into SQL cannot carry user input.
func goConsts(f *ast.File) map[string]bool {
	consts := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if d, ok := n.(*ast.GenDecl); ok && d.Tok == token.CONST {
			for _, s := range d.Specs {
				for _, name := range s.(*ast.ValueSpec).Names {
					consts[name.Name] = true
				}
			}
		}
		return true
	})
	return consts
}

// varState is what is known of a local string variable from its assignments
// so far in the function.
type varState int

const (
	varUnknown  varState = iota // a parameter, a call result, ...
	varConstant                 // built only from literals and constants
	varBuilt                    // built by concatenation or fmt.Sprintf with non-constant parts
)

type goVisitor struct {
	file    string
	fset    *token.FileSet
	consts  map[string]bool
	imports map[string]string // local name -> import path
	dots    map[string]bool   // import paths imported with "."
	vars    map[string]varState
	// how records how each built variable was built, for the message.
	how map[string]string
	out []Finding
}

func (v *goVisitor) add(pos token.Pos, rule, format string, args ...any) {
	v.out = append(v.out, newFinding(v.file, v.fset.Position(pos).Line, rule, format, args...))
}

// Visit walks the file in source order, so an assignment is seen before the
// calls after it. Variable state is per function declaration; closures share
// the state of the function around them, as they share its variables.
func (v *goVisitor) Visit(n ast.Node) ast.Visitor {
	switch n := n.(type) {
	case *ast.FuncDecl:
		v.vars, v.how = map[string]varState{}, map[string]string{}
	case *ast.AssignStmt:
		v.assign(n)
	case *ast.ValueSpec:
		v.declare(n)
	case *ast.CallExpr:
		v.checkExec(n)
		v.checkSQL(n)
	case *ast.KeyValueExpr:
		if isIdent(n.Key, "InsecureSkipVerify") && isIdent(n.Value, "true") {
			v.add(n.Pos(), ruleGoTLSSkipVerify, "InsecureSkipVerify: true disables TLS certificate checks; trust the server's CA with RootCAs instead")
		}
	}
	return v
}

func (v *goVisitor) assign(a *ast.AssignStmt) {
	if v.vars == nil {
		v.vars, v.how = map[string]varState{}, map[string]string{}
	}
	switch a.Tok {
	case token.ADD_ASSIGN:
		if id, ok := a.Lhs[0].(*ast.Ident); ok && len(a.Rhs) == 1 {
			if how, built := v.built(a.Rhs[0]); built {
				v.setBuilt(id.Name, how)
			} else if !v.constant(a.Rhs[0]) {
				v.setBuilt(id.Name, "concatenation")
			}
		}
	case token.ASSIGN, token.DEFINE:
		for i, lhs := range a.Lhs {
			if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "InsecureSkipVerify" && len(a.Rhs) == len(a.Lhs) && isIdent(a.Rhs[i], "true") {
				v.add(a.Pos(), ruleGoTLSSkipVerify, "InsecureSkipVerify = true disables TLS certificate checks; trust the server's CA with RootCAs instead")
			}
			id, ok := lhs.(*ast.Ident)
			if !ok {
				continue
			}
			if len(a.Rhs) != len(a.Lhs) {
				v.vars[id.Name] = varUnknown // x, err := f()
				continue
			}
			v.setFrom(id.Name, a.Rhs[i])
		}
	}
}

func (v *goVisitor) declare(s *ast.ValueSpec) {
	if v.vars == nil {
		v.vars, v.how = map[string]varState{}, map[string]string{}
	}
	for i, id := range s.Names {
		switch {
		case len(s.Values) == len(s.Names):
			v.setFrom(id.Name, s.Values[i])
		case len(s.Values) == 0:
			v.vars[id.Name] = varConstant // the zero value
		default:
			v.vars[id.Name] = varUnknown
		}
	}
}

func (v *goVisitor) setFrom(name string, e ast.Expr) {
	switch how, built := v.built(e); {
	case built:
		v.setBuilt(name, how)
	case v.constant(e):
		v.vars[name] = varConstant
	default:
		v.vars[name] = varUnknown
	}
}

func (v *goVisitor) setBuilt(name, how string) {
	v.vars[name] = varBuilt
	v.how[name] = how
}

// constant reports whether e is made only of literals, declared constants
// and variables that were themselves assigned only constants.
func (v *goVisitor) constant(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return v.consts[e.Name] || v.vars[e.Name] == varConstant
	case *ast.ParenExpr:
		return v.constant(e.X)
	case *ast.BinaryExpr:
		return v.constant(e.X) && v.constant(e.Y)
	}
	return false
}

// built reports whether e is a string built from non-constant parts by
// concatenation or fmt.Sprintf, directly or through a local variable, and
// how.
func (v *goVisitor) built(e ast.Expr) (how string, ok bool) {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return v.built(e.X)
	case *ast.Ident:
		if v.vars[e.Name] == varBuilt {
			return v.how[e.Name], true
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD && !v.constant(e) {
			return "concatenation", true
		}
	case *ast.CallExpr:
		if v.isPkgFunc(e.Fun, "fmt", "Sprintf") {
			for _, a := range e.Args {
				if !v.constant(a) {
					return "fmt.Sprintf", true
				}
			}
		}
	}
	return "", false
}

// isPkgFunc reports whether fun names function name of the package with
// import path pkg, however it was imported (renamed or dot-imported).
func (v *goVisitor) isPkgFunc(fun ast.Expr, pkg, name string) bool {
	switch f := fun.(type) {
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		return ok && f.Sel.Name == name && v.imports[x.Name] == pkg
	case *ast.Ident:
		return f.Name == name && v.dots[pkg]
	}
	return false
}

func (v *goVisitor) checkSQL(c *ast.CallExpr) {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return
	}
	idx, ok := goSQLMethods[sel.Sel.Name]
	if !ok || len(c.Args) <= idx {
		return
	}
	if how, built := v.built(c.Args[idx]); built {
		if id, ok := ast.Unparen(c.Args[idx]).(*ast.Ident); ok {
			how += " (in " + id.Name + ")"
		}
		v.add(c.Pos(), ruleGoSQLConcat, "%s receives a query built by %s; use placeholders ($1, ?) and pass the values as arguments",
			types.ExprString(c.Fun), how)
	}
}

func (v *goVisitor) checkExec(c *ast.CallExpr) {
	first := 0
	switch {
	case v.isPkgFunc(c.Fun, "os/exec", "Command"):
	case v.isPkgFunc(c.Fun, "os/exec", "CommandContext"):
		first = 1
	default:
		return
	}
	if len(c.Args) < first+2 {
		return
	}
	shell, ok1 := stringLit(c.Args[first])
	flag, ok2 := stringLit(c.Args[first+1])
	if !ok1 || !ok2 || !goShells[strings.ToLower(path.Base(strings.ReplaceAll(shell, `\`, "/")))] || !isShellScriptFlag(flag) {
		return
	}
	detail := ""
	if len(c.Args) > first+2 {
		if _, lit := stringLit(c.Args[first+2]); !lit {
			detail = " with a script built at run time"
		}
	}
	v.add(c.Pos(), ruleGoExecShell, "%s runs %s %s%s, open to command injection; run the program directly with its arguments",
		types.ExprString(c.Fun), shell, flag, detail)
}

// isShellScriptFlag reports whether a shell argument makes the next argument
// a script: -c, a cluster of short flags holding c (-ec, -lc), cmd's /c and
// PowerShell's -Command.
func isShellScriptFlag(s string) bool {
	switch s {
	case "/c", "/C", "-Command", "-command":
		return true
	}
	if len(s) < 2 || s[0] != '-' || s[1] == '-' {
		return false
	}
	for _, r := range s[1:] {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return strings.ContainsRune(s[1:], 'c')
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
