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
	// counted tells whether the definition itself counts; for a class it
	// means its public members count too.
	counted bool
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
		documented: lines[0].docstring.is(),
	}}

	var stack []pyScope
	// pending is the index in items of the definition whose indented body
	// starts at the next logical line; -1 for an uncounted definition.
	pending, pendingIndent := -1, -1
	for _, ln := range lines {
		if pendingIndent >= 0 {
			if pending >= 0 && ln.indent > pendingIndent {
				items[pending].documented = ln.docstring.is()
			}
			pending, pendingIndent = -1, -1
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= ln.indent {
			stack = stack[:len(stack)-1]
		}

		head := ln.head
		if len(head) == 3 && isName(head[0], "async") && isName(head[1], "def") {
			head = head[1:]
		}
		if len(head) < 2 || !(isName(head[0], "def") || isName(head[0], "class")) || head[1].kind != pyName || !ln.colon {
			continue // not a (complete) definition header
		}
		isClass, name := isName(head[0], "class"), head[1].text

		kind, qualified, counted := classify(stack, isClass, name)
		idx := -1
		if counted {
			items = append(items, item{file: file, line: ln.line, kind: kind, name: qualified})
			idx = len(items) - 1
		}
		if ln.body.any() {
			// The body is on the header's line: def f(): """doc""".
			if idx >= 0 {
				items[idx].documented = ln.body.is()
			}
			continue
		}
		pending, pendingIndent = idx, ln.indent
		stack = append(stack, pyScope{indent: ln.indent, class: isClass, name: qualified, counted: counted})
	}
	return items
}

// classify decides what a definition is and whether it counts: it must have
// a public name and sit at module level or directly in a counted class (so
// not inside a function, nor inside a private class).
func classify(stack []pyScope, isClass bool, name string) (kind, qualified string, counted bool) {
	kind, qualified, counted = "function", name, !strings.HasPrefix(name, "_")
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		counted = counted && top.class && top.counted
		if top.class {
			kind, qualified = "method", top.name+"."+name
		}
	}
	if isClass {
		kind = "class"
	}
	return kind, qualified, counted
}

func isName(t pyTok, s string) bool { return t.kind == pyName && t.text == s }

// moduleName is the file name without its extension: "models" for
// app/models.py.
func moduleName(file string) string {
	base := path.Base(strings.ReplaceAll(file, `\`, "/"))
	return strings.TrimSuffix(base, path.Ext(base))
}
