package security

import (
	"regexp"
	"strings"
)

// The JavaScript and TypeScript rules share one token-based scanner over the
// masked text (see mask.go). child_process is resolved through its imports:
// CommonJS require, ES module imports (namespace, default and named, with
// renames), and the inline require('child_process').exec(...).

// cpModule matches the module specifier of child_process, with or without
// the node: scheme, in quotes.
const cpModule = `['"](?:node:)?child_process['"]`

var (
	jsRequireCP       = regexp.MustCompile(`(?:const|let|var)\s+([\w$]+)\s*=\s*require\s*\(\s*` + cpModule + `\s*\)`)
	jsRequireCPNames  = regexp.MustCompile(`(?:const|let|var)\s*\{([^}]*)\}\s*=\s*require\s*\(\s*` + cpModule + `\s*\)`)
	jsImportCPAll     = regexp.MustCompile(`import\s+\*\s+as\s+([\w$]+)\s+from\s+` + cpModule)
	jsImportCPDefault = regexp.MustCompile(`import\s+([\w$]+)\s*(?:,\s*\{[^}]*\})?\s+from\s+` + cpModule)
	jsImportCPNames   = regexp.MustCompile(`import\s*(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*` + cpModule)
	jsInlineCPExec    = regexp.MustCompile(`^require\s*\(\s*` + cpModule + `\s*\)\s*\.\s*(exec|execSync)\s*\(`)
)

// jsShellExec are the child_process functions that run a command line
// through the shell. execFile and spawn do not, unless given shell: true.
var jsShellExec = map[string]bool{"exec": true, "execSync": true}

// jsGlobalObjects prefix globals without changing what they are:
// window.eval is eval.
var jsGlobalObjects = []string{"window.", "globalThis.", "self.", "global."}

// cpNames are the local names bound to child_process (modules) and to its
// shell-running functions (funcs: local name -> exec or execSync).
type cpNames struct {
	modules map[string]bool
	funcs   map[string]string
}

// window is a part of a file, at offset start.
type window struct {
	start int
	text  string
}

// cpWindows are the parts of a file around each mention of child_process,
// where its imports can be: the regular expressions run on them rather than
// on the whole file, which keeps large files fast. Overlapping windows are
// merged so that no text is read twice.
func cpWindows(noComments string) []window {
	const before, after = 1 << 10, 64
	var out []window
	start, end := -1, -1
	for _, i := range wordOffsets(noComments, "child_process") {
		lo, hi := max(0, i-before), min(len(noComments), i+len("child_process")+after)
		if start >= 0 && lo <= end {
			end = hi
			continue
		}
		if start >= 0 {
			out = append(out, window{start, noComments[start:end]})
		}
		start, end = lo, hi
	}
	if start >= 0 {
		out = append(out, window{start, noComments[start:end]})
	}
	return out
}

// readChildProcessImports reads the imports of child_process in the windows
// of noComments. code tells statements from text inside string literals,
// which is blank there.
func readChildProcessImports(code string, windows []window) cpNames {
	n := cpNames{modules: map[string]bool{"child_process": true}, funcs: map[string]string{}}
	for _, w := range windows {
		n.read(code, w)
	}
	return n
}

func (n cpNames) read(code string, w window) {
	inCode := func(m []int) bool { return code[w.start+m[0]] != ' ' }
	for _, re := range []*regexp.Regexp{jsRequireCP, jsImportCPAll, jsImportCPDefault} {
		for _, m := range re.FindAllStringSubmatchIndex(w.text, -1) {
			if inCode(m) {
				n.modules[w.text[m[2]:m[3]]] = true
			}
		}
	}
	// const { exec, execSync: run } = require(...) and
	// import { exec, execSync as run } from ...
	for _, spec := range []struct {
		re  *regexp.Regexp
		sep string
	}{{jsRequireCPNames, ":"}, {jsImportCPNames, " as "}} {
		for _, m := range spec.re.FindAllStringSubmatchIndex(w.text, -1) {
			if !inCode(m) {
				continue
			}
			for _, part := range strings.Split(w.text[m[2]:m[3]], ",") {
				part = strings.Join(strings.Fields(part), " ") // "exec\n  as run"
				orig, local, renamed := strings.Cut(part, spec.sep)
				orig = strings.TrimSpace(orig)
				if !renamed {
					local = orig
				}
				local = strings.TrimSpace(local)
				if jsShellExec[orig] && local != "" {
					n.funcs[local] = orig
				}
			}
		}
	}
}

// scanJS reports eval, new Function, child_process exec/execSync, innerHTML
// and outerHTML assignments, and document.write.
func scanJS(file, content string) []Finding {
	code, noComments := maskJS(content)
	cp := readChildProcessImports(code, cpWindows(noComments))
	lines := newLineIndex(content)
	var out []Finding
	for _, c := range calls(code) {
		if precededByWord(code, c.start, "function") {
			continue // a declaration named eval is not a call to it
		}
		line := lines.line(c.start)
		callee := c.callee
		for _, g := range jsGlobalObjects {
			callee = strings.TrimPrefix(callee, g)
		}
		mod, fn, dotted := strings.Cut(callee, ".")
		switch {
		case callee == "eval":
			out = append(out, newFinding(file, line, ruleJSEval, "eval() runs arbitrary code; parse data with JSON.parse instead"))
		case callee == "Function":
			// With or without new, the Function constructor compiles its
			// last argument.
			out = append(out, newFinding(file, line, ruleJSNewFunction, "new Function() compiles a string into code like eval()"))
		case callee == "document.write" || callee == "document.writeln":
			out = append(out, newFinding(file, line, ruleJSDocumentWrite, "%s() writes unescaped markup into the page; build DOM nodes or set textContent", callee))
		case dotted && cp.modules[mod] && jsShellExec[fn]:
			out = append(out, newFinding(file, line, ruleJSChildProcess, "child_process.%s() runs a command line through the shell; use execFile or spawn with a list of arguments", fn))
		case !dotted && cp.funcs[callee] != "":
			out = append(out, newFinding(file, line, ruleJSChildProcess, "child_process.%s() (imported as %s) runs a command line through the shell; use execFile or spawn with a list of arguments", cp.funcs[callee], callee))
		}
	}
	for _, i := range wordOffsets(noComments, "require") {
		// require('child_process').exec(...): the call itself is skipped
		// by calls, being a method of an expression.
		if code[i] == ' ' {
			continue // inside a string literal
		}
		if m := jsInlineCPExec.FindStringSubmatch(noComments[i:min(len(noComments), i+128)]); m != nil {
			out = append(out, newFinding(file, lines.line(i), ruleJSChildProcess, "child_process.%s() runs a command line through the shell; use execFile or spawn with a list of arguments", m[1]))
		}
	}
	for _, a := range htmlAssignments(code) {
		out = append(out, newFinding(file, lines.line(a.at), ruleJSInnerHTML, "assigning %s with %s parses markup and can inject script; set textContent or sanitise the HTML", a.prop, a.op))
	}
	return out
}

// htmlAssignment is an assignment to innerHTML or outerHTML.
type htmlAssignment struct {
	at       int
	prop, op string
}

// htmlAssignments finds ".innerHTML =", ".innerHTML +=" and the same for
// outerHTML in masked code, leaving out comparisons (==, ===) and
// assignments of one constant string: clearing or setting static markup
// cannot inject anything.
func htmlAssignments(code string) []htmlAssignment {
	var out []htmlAssignment
	for off := 0; ; {
		i := strings.Index(code[off:], "HTML")
		if i < 0 {
			return out
		}
		i += off
		off = i + len("HTML")
		if i < 5 || (code[i-5:i] != "inner" && code[i-5:i] != "outer") {
			continue
		}
		if !afterDot(code, i-5) {
			continue
		}
		k := skipSpace(code, off)
		op := "="
		if k < len(code) && code[k] == '+' {
			op = "+="
			k++
		}
		if k >= len(code) || code[k] != '=' || (k+1 < len(code) && code[k+1] == '=') {
			continue
		}
		if constantString(code, k+1) {
			continue
		}
		out = append(out, htmlAssignment{at: i - 5, prop: code[i-5 : off], op: op})
	}
}

// constantString reports whether the expression at offset i of masked code
// is one string literal without ${…} followed by the end of the statement.
// In masked code the contents of a literal are blanks, so it reads as a
// quote, spaces, the same quote.
func constantString(code string, i int) bool {
	i = skipSpace(code, i)
	if i >= len(code) || (code[i] != '"' && code[i] != '\'' && code[i] != '`') {
		return false
	}
	q := code[i]
	i++
	for i < len(code) && code[i] == ' ' {
		i++
	}
	if i >= len(code) || code[i] != q {
		return false
	}
	for i++; i < len(code) && (code[i] == ' ' || code[i] == '\t'); i++ {
	}
	return i >= len(code) || strings.IndexByte(";,)}\r\n", code[i]) >= 0
}
