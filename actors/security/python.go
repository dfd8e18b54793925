package security

import (
	"regexp"
	"strings"
)

// Python has no parser in Go's standard library, so the Python rules work on
// calls found in the masked text (see mask.go). Import statements are read
// first so that renamed modules and imported functions resolve to their
// canonical names: after "import subprocess as sp" and "from os import
// system", sp.run(...) is subprocess.run and system(...) is os.system.

var (
	pyImport     = regexp.MustCompile(`^[ \t]*import[ \t]+([^\n;]+)`)
	pyFromImport = regexp.MustCompile(`^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n;]+)`)
	// pyEqualsTrue follows "shell" in shell=True.
	pyEqualsTrue = regexp.MustCompile(`^\s*=\s*True\b`)
)

// maxImportLen bounds how far a parenthesised from-import is read.
const maxImportLen = 4 << 10

// pyNames resolves local names to canonical dotted names.
type pyNames struct {
	modules map[string]string // local name -> module ("sp" -> "subprocess")
	funcs   map[string]string // local name -> module.func ("system" -> "os.system")
}

func readPythonImports(code string) pyNames {
	n := pyNames{modules: map[string]string{}, funcs: map[string]string{}}
	// Import statements start a line; only those lines reach the regular
	// expressions (a parenthesised from-import may go on for a few lines).
	var imports, fromImports [][]string
	for off := 0; off < len(code); {
		end := endOfLine(code, off)
		switch line := strings.TrimLeft(code[off:end], " \t"); {
		case strings.HasPrefix(line, "import"):
			if m := pyImport.FindStringSubmatch(code[off:end]); m != nil {
				imports = append(imports, m)
			}
		case strings.HasPrefix(line, "from"):
			stmtEnd := end
			if strings.Contains(line, "(") {
				// Bounded, so that many unclosed imports stay linear.
				if i := strings.IndexByte(code[off:min(len(code), off+maxImportLen)], ')'); i >= 0 {
					stmtEnd = off + i + 1
				}
			}
			if m := pyFromImport.FindStringSubmatch(code[off:stmtEnd]); m != nil {
				fromImports = append(fromImports, m)
			}
		}
		off = end + 1
	}
	for _, m := range imports {
		for _, part := range strings.Split(m[1], ",") {
			fields := strings.Fields(part)
			switch {
			case len(fields) == 3 && fields[1] == "as":
				n.modules[fields[2]] = fields[0]
			case len(fields) == 1:
				// "import os.path" binds "os".
				first, _, _ := strings.Cut(fields[0], ".")
				n.modules[first] = first
			}
		}
	}
	for _, m := range fromImports {
		mod := m[1]
		list := strings.Trim(m[2], "() \t\r\n")
		for _, part := range strings.Split(list, ",") {
			fields := strings.Fields(part)
			switch {
			case len(fields) == 3 && fields[1] == "as":
				n.funcs[fields[2]] = mod + "." + fields[0]
			case len(fields) == 1 && fields[0] != "*":
				n.funcs[fields[0]] = mod + "." + fields[0]
			}
		}
	}
	return n
}

// canonical turns a callee as written into the dotted name it refers to.
// Unimported names stay as they are, so a snippet that calls os.system
// without its import is still caught.
func (n pyNames) canonical(callee string) string {
	first, rest, dotted := strings.Cut(callee, ".")
	if !dotted {
		if f, ok := n.funcs[first]; ok {
			return f
		}
		return first
	}
	if mod, ok := n.modules[first]; ok {
		first = mod
	}
	// cPickle and _pickle are the C implementations of pickle.
	if first == "cPickle" || first == "_pickle" {
		first = "pickle"
	}
	return first + "." + rest
}

var pySubprocessShellable = map[string]bool{
	"subprocess.run": true, "subprocess.call": true, "subprocess.check_call": true,
	"subprocess.check_output": true, "subprocess.Popen": true,
}

// scanPython reports eval, exec, os.system/os.popen, subprocess with
// shell=True, pickle.load(s) and yaml.load without a safe loader.
func scanPython(file, content string) []Finding {
	code, _ := maskPython(content)
	names := readPythonImports(code)
	lines := newLineIndex(content)

	type resolved struct {
		call
		name string
	}
	var found []resolved
	var opens []int // of the calls whose arguments matter
	for _, c := range calls(code) {
		if precededByWord(code, c.start, "def") || precededByWord(code, c.start, "class") {
			continue // a definition named eval is not a call to it
		}
		r := resolved{c, names.canonical(c.callee)}
		if pySubprocessShellable[r.name] || r.name == "yaml.load" || r.name == "yaml.load_all" {
			opens = append(opens, c.open)
		}
		found = append(found, r)
	}
	closes := map[int]int{}
	var shellTrue, safeLoader []int
	if len(opens) > 0 {
		for i, end := range closingParens(code, opens) {
			closes[opens[i]] = end
		}
		// Found once per file and matched to calls by offset, so that
		// nested calls do not read the same text twice.
		shellTrue = shellTrueOffsets(code)
		safeLoader = safeLoaderOffsets(code)
	}

	var out []Finding
	for _, c := range found {
		line := lines.line(c.start)
		switch name := c.name; {
		case name == "eval" || name == "builtins.eval":
			out = append(out, newFinding(file, line, rulePyEval, "eval() runs arbitrary code; parse data with ast.literal_eval or json instead"))
		case name == "exec" || name == "builtins.exec":
			out = append(out, newFinding(file, line, rulePyExec, "exec() runs arbitrary code"))
		case name == "os.system" || name == "os.popen":
			out = append(out, newFinding(file, line, rulePyOSSystem, "%s() runs its argument through the shell; use subprocess.run with a list of arguments", name))
		case name == "subprocess.getoutput" || name == "subprocess.getstatusoutput":
			out = append(out, newFinding(file, line, rulePySubprocessShell, "%s() always runs its argument through the shell", name))
		case pySubprocessShellable[name] && anyWithin(shellTrue, c.open, closes[c.open]):
			out = append(out, newFinding(file, line, rulePySubprocessShell, "%s(..., shell=True) runs the command through the shell; pass a list of arguments without shell=True", name))
		case name == "pickle.load" || name == "pickle.loads":
			out = append(out, newFinding(file, line, rulePyPickle, "%s() can run arbitrary code from untrusted data; use json or another data-only format", name))
		case name == "yaml.unsafe_load" || name == "yaml.unsafe_load_all":
			out = append(out, newFinding(file, line, rulePyYAMLLoad, "%s() can construct arbitrary objects; use yaml.safe_load", name))
		case (name == "yaml.load" || name == "yaml.load_all") && !anyWithin(safeLoader, c.open, closes[c.open]):
			out = append(out, newFinding(file, line, rulePyYAMLLoad, "%s() without Loader=yaml.SafeLoader can construct arbitrary objects; use yaml.safe_load", name))
		}
	}
	return out
}

// shellTrueOffsets returns the offsets of every shell=True in masked code.
func shellTrueOffsets(code string) []int {
	var out []int
	for _, i := range wordOffsets(code, "shell") {
		end := i + len("shell")
		if pyEqualsTrue.MatchString(code[end:min(len(code), end+32)]) {
			out = append(out, i)
		}
	}
	return out
}

// safeLoaderOffsets returns the offsets of every SafeLoader, CSafeLoader,
// BaseLoader and CBaseLoader in masked code.
func safeLoaderOffsets(code string) []int {
	var out []int
	for off := 0; ; {
		i := strings.Index(code[off:], "Loader")
		if i < 0 {
			return out
		}
		i += off
		off = i + len("Loader")
		if off < len(code) && isIdentByte(code[off]) {
			continue
		}
		start := i - len("Safe")
		if start < 0 || (code[start:i] != "Safe" && code[start:i] != "Base") {
			continue
		}
		if start > 0 && code[start-1] == 'C' {
			start--
		}
		if start == 0 || !isIdentByte(code[start-1]) {
			out = append(out, start)
		}
	}
}
