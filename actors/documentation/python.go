package doccheck

import (
	"path"
	"strings"
)

// pyScope is an open class or def body.
type pyScope struct {
	indent int
	class  bool   // class, or def
	name   string // the qualified name for classes: Outer.Inner
	public bool
}

// pythonItems lists the module and its public classes, functions and
// methods, each documented when the first statement of its body is a
// docstring. See the package documentation for what is public.
func pythonItems(file, content string) []item {
	lines := pyLogicalLines(content)
	if len(lines) == 0 {
		return nil // an empty module (an empty __init__.py) has nothing to document
	}
	items := []item{{
		file: file, line: lines[0].line, kind: "module", name: moduleName(file),
		documented: isDocstring(lines[0].toks),
	}}

	var stack []pyScope
	// pending is the index in items of the definition whose indented body
	// starts at the next logical line; -1 for an uncounted definition.
	pending, pendingIndent := -1, -1
	for _, ln := range lines {
		if pendingIndent >= 0 {
			if pending >= 0 && ln.indent > pendingIndent {
				items[pending].documented = isDocstring(ln.toks)
			}
			pending, pendingIndent = -1, -1
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= ln.indent {
			stack = stack[:len(stack)-1]
		}

		toks := ln.toks
		k := 0
		if len(toks) > 1 && isName(toks[0], "async") && isName(toks[1], "def") {
			k = 1
		}
		isClass := isName(toks[k], "class")
		if !isClass && !isName(toks[k], "def") || len(toks) < k+2 || toks[k+1].kind != pyName {
			continue
		}
		name := toks[k+1].text
		colon := -1
		for j := k + 2; j < len(toks); j++ {
			if toks[j].kind == pyOp && toks[j].text == ":" && toks[j].depth == 0 {
				colon = j
				break
			}
		}
		if colon < 0 {
			continue // not a complete header
		}

		kind, qualified, counted := classify(stack, isClass, name)
		idx := -1
		if counted {
			items = append(items, item{file: file, line: ln.line, kind: kind, name: qualified})
			idx = len(items) - 1
		}
		if colon+1 < len(toks) {
			// The body is on the header's line: def f(): """doc""".
			if idx >= 0 {
				items[idx].documented = isDocstring(toks[colon+1:])
			}
			continue
		}
		pending, pendingIndent = idx, ln.indent
		stack = append(stack, pyScope{indent: ln.indent, class: isClass, name: qualified, public: counted})
	}
	return items
}

// classify decides what a definition is and whether it counts: it must have
// a public name, not be inside a function and not be inside a private
// class.
func classify(stack []pyScope, isClass bool, name string) (kind, qualified string, counted bool) {
	counted = !strings.HasPrefix(name, "_")
	for _, s := range stack {
		if !s.class || !s.public {
			counted = false
		}
	}
	kind, qualified = "function", name
	if len(stack) > 0 && stack[len(stack)-1].class {
		kind, qualified = "method", stack[len(stack)-1].name+"."+name
	}
	if isClass {
		kind = "class"
	}
	return kind, qualified, counted
}

// isDocstring reports whether a statement is a docstring: string literals
// only (implicit concatenation allowed), with no f, b or t prefix, which
// Python would not store as __doc__.
func isDocstring(toks []pyTok) bool {
	j := 0
	for j < len(toks) && toks[j].kind == pyStr {
		switch toks[j].text {
		case "", "r", "u":
		default:
			return false
		}
		j++
	}
	if j == 0 {
		return false
	}
	return j == len(toks) || (toks[j].kind == pyOp && toks[j].text == ";")
}

func isName(t pyTok, s string) bool { return t.kind == pyName && t.text == s }

// moduleName is the file name without its extension: "models" for
// app/models.py.
func moduleName(file string) string {
	base := path.Base(strings.ReplaceAll(file, `\`, "/"))
	return strings.TrimSuffix(base, path.Ext(base))
}
