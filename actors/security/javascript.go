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
	jsInlineCPExec    = regexp.MustCompile(`require\s*\(\s*` + cpModule + `\s*\)\s*\.\s*(exec|execSync)\s*\(`)
	jsInnerHTML       = regexp.MustCompile(`\.\s*(innerHTML|outerHTML)\s*(\+?=)(?:[^=]|$)`)
	// jsConstantRHS is a right-hand side that is one string literal with no
	// ${…} (in masked code its contents are blank): clearing or setting
	// static markup cannot inject anything.
	jsConstantRHS = regexp.MustCompile("^\\s*(?:\"\\s*\"|'\\s*'|`\\s*`)\\s*;?\\s*$")
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

func readChildProcessImports(noComments string) cpNames {
	n := cpNames{modules: map[string]bool{"child_process": true}, funcs: map[string]string{}}
	for _, re := range []*regexp.Regexp{jsRequireCP, jsImportCPAll, jsImportCPDefault} {
		for _, m := range re.FindAllStringSubmatch(noComments, -1) {
			n.modules[m[1]] = true
		}
	}
	// const { exec, execSync: run } = require(...) and
	// import { exec, execSync as run } from ...
	for _, spec := range []struct {
		re  *regexp.Regexp
		sep string
	}{{jsRequireCPNames, ":"}, {jsImportCPNames, " as "}} {
		for _, m := range spec.re.FindAllStringSubmatch(noComments, -1) {
			for _, part := range strings.Split(m[1], ",") {
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
	return n
}

// scanJS reports eval, new Function, child_process exec/execSync, innerHTML
// and outerHTML assignments, and document.write.
func scanJS(file, content string) []Finding {
	code, noComments := maskJS(content)
	cp := readChildProcessImports(noComments)
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
	for _, m := range jsInlineCPExec.FindAllStringSubmatchIndex(noComments, -1) {
		fn := noComments[m[2]:m[3]]
		out = append(out, newFinding(file, lines.line(m[0]), ruleJSChildProcess, "child_process.%s() runs a command line through the shell; use execFile or spawn with a list of arguments", fn))
	}
	for _, m := range jsInnerHTML.FindAllStringSubmatchIndex(code, -1) {
		rhs := code[m[5]:endOfLine(code, m[5])]
		if jsConstantRHS.MatchString(rhs) {
			continue
		}
		prop, op := code[m[2]:m[3]], code[m[4]:m[5]]
		out = append(out, newFinding(file, lines.line(m[0]), ruleJSInnerHTML, "assigning %s with %s parses markup and can inject script; set textContent or sanitise the HTML", prop, op))
	}
	return out
}
