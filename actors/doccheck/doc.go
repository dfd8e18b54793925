// Package doccheck is the documentation agent: it measures how much of the
// public API of the Go and Python files handed to it in a
// documentation_check task is documented, and lists what is not.
//
// It is the agent kind named "documentation", but the package cannot carry
// that name: the go command ignores every file that declares
// "package documentation" (a convention older than doc.go).
//
// # Input and output
//
// The task parameters are actors.FilesParams:
//
//	{"files": [{"path": "store/store.go", "content": "..."}]}
//
// The output is a Report:
//
//	{
//	  "coverage": 75.0, "documented": 3, "total": 4,
//	  "undocumented": [{"file": "store/store.go", "line": 12, "kind": "function", "name": "Open"}],
//	  "files": [{"path": "store/store.go", "language": "go", "coverage": 75.0, "documented": 3, "total": 4}],
//	  "skipped": ["web/app.js"],
//	  "errors": [{"file": "bad.go", "message": "could not parse: bad.go:3:1: ..."}]
//	}
//
// Coverage is documented/total as a percentage rounded to one decimal, and
// 100 when there is nothing to document. Files in other languages than Go
// and Python (JavaScript and TypeScript included, for now) are listed in
// skipped; Go files that do not parse are listed in errors and left out of
// files and of the counts. Undocumented is sorted by file then line; files,
// skipped and errors keep the input order. At most MaxUndocumented (1,000)
// undocumented declarations are listed; beyond that the list is cut and
// "truncated": true is added, while the counts still cover everything.
//
// # What counts in Go
//
// Go files are read with go/parser. Presence of a doc comment is what
// counts, not its wording; a comment made only of directives (//go:generate,
// //nolint:x) is not documentation.
//
//   - The package clause, once per package: the files of one directory that
//     declare the same package name. It is documented when any of them has a
//     package comment (a doc.go is enough), and is counted in that file, or
//     in the first file of the package when none has one. Kind "package".
//   - Exported functions (kind "function") and exported methods of exported
//     types (kind "method", named Type.Method; the receiver's type
//     parameters and pointer are ignored). Methods of unexported types are
//     not reachable API and do not count.
//   - Exported types (kind "type"), constants ("const") and variables
//     ("var"), each exported name counted on its own. One is documented by
//     its own doc comment, by a comment at the end of its line, or by the
//     doc comment of its declaration: a documented const ( ... ) or
//     var ( ... ) group documents every name in it, as go doc shows them.
//   - Struct fields and interface methods are not counted.
//   - Test files (_test.go) and generated files (a "Code generated ... DO
//     NOT EDIT." comment) are listed with nothing to document: nobody reads
//     them as API documentation.
//
// # What counts in Python
//
// Go has no Python parser, so Python files go through a small tokenizer that
// understands strings (single, double and triple quoted, with prefixes),
// comments, brackets and backslash continuations, and yields logical lines
// with their indentation. That is enough to find every def, async def and
// class at any indentation, with decorators and multi-line signatures, and
// the first statement of each body.
//
//   - The module (kind "module", named after the file), unless the file has
//     no statements at all: an empty __init__.py has nothing to document.
//   - Public classes ("class"), functions ("function") and methods
//     ("method", named Class.method; nested classes are Outer.Inner).
//   - Public means: the name does not start with an underscore, and the
//     definition is neither inside a function (a nested helper is not API)
//     nor inside a private class. Underscore names are all skipped,
//     __init__ and other dunder methods included: by PEP 257 and the common
//     style guides the class docstring documents construction.
//   - A docstring is a first statement made only of string literals (implicit
//     concatenation allowed) with no prefix or an r or u prefix; f-, b- and
//     t-strings are not, as Python does not store them as __doc__. A body on
//     the header's line counts too: def f(): "doc".
package doccheck
