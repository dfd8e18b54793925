package doccheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"strings"
)

// goFile is a parsed Go file waiting for its package clause to be counted.
type goFile struct {
	path string
	fset *token.FileSet
	file *ast.File
	// counted is false for test and generated files, whose declarations
	// nobody reads as API documentation.
	counted  bool
	analysed *analysed
}

func parseGo(p, content string) (goFile, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, p, content, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return goFile{}, err
	}
	counted := !strings.HasSuffix(p, "_test.go") && !ast.IsGenerated(f)
	return goFile{path: p, fset: fset, file: f, counted: counted}, nil
}

// goItems lists the exported top-level declarations of a file: functions,
// methods of exported types, types, constants and variables. The package
// clause is counted separately, per package (addGoPackages).
func goItems(gf goFile) []item {
	if !gf.counted {
		return nil
	}
	var items []item
	add := func(id *ast.Ident, kind, name string, documented bool) {
		items = append(items, item{file: gf.path, line: gf.fset.Position(id.Pos()).Line, kind: kind, name: name, documented: documented})
	}
	for _, d := range gf.file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				add(d.Name, "function", d.Name.Name, hasDoc(d.Doc))
				continue
			}
			recv := receiverType(d.Recv)
			if !ast.IsExported(recv) {
				continue // a method of an unexported type is not reachable API
			}
			add(d.Name, "method", recv+"."+d.Name.Name, hasDoc(d.Doc))
		case *ast.GenDecl:
			// A doc comment on the declaration covers every spec in it: a
			// documented const ( ... ) group documents its constants, as
			// go doc shows them.
			declDoc := hasDoc(d.Doc)
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						add(s.Name, "type", s.Name.Name, declDoc || hasDoc(s.Doc) || hasDoc(s.Comment))
					}
				case *ast.ValueSpec:
					kind := "var"
					if d.Tok == token.CONST {
						kind = "const"
					}
					for _, id := range s.Names {
						if id.IsExported() {
							add(id, kind, id.Name, declDoc || hasDoc(s.Doc) || hasDoc(s.Comment))
						}
					}
				}
			}
		}
	}
	return items
}

// addGoPackages counts one package clause per Go package: the files of a
// directory that declare the same package name. It is documented when any
// of them has a package comment, and it is counted in the first file that
// has one, or in the first file of the package when none does.
func addGoPackages(files []goFile) {
	type pkg struct {
		name  string
		first *goFile
		doc   *goFile
	}
	var order []string
	pkgs := map[string]*pkg{}
	for i := range files {
		gf := &files[i]
		if !gf.counted {
			continue
		}
		name := gf.file.Name.Name
		key := path.Dir(strings.ReplaceAll(gf.path, `\`, "/")) + "\x00" + name
		p, ok := pkgs[key]
		if !ok {
			p = &pkg{name: name, first: gf}
			pkgs[key] = p
			order = append(order, key)
		}
		if p.doc == nil && hasDoc(gf.file.Doc) {
			p.doc = gf
		}
	}
	for _, key := range order {
		p := pkgs[key]
		at := p.first
		if p.doc != nil {
			at = p.doc
		}
		it := item{
			file: at.path, line: at.fset.Position(at.file.Package).Line,
			kind: "package", name: p.name, documented: p.doc != nil,
		}
		at.analysed.items = append([]item{it}, at.analysed.items...)
	}
}

// receiverType is the base type name of a method receiver: T for T, *T,
// T[K] and *T[K, V].
func receiverType(fl *ast.FieldList) string {
	if fl == nil || len(fl.List) == 0 {
		return ""
	}
	e := fl.List[0].Type
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

// hasDoc reports whether a comment group says something. Directives such as
// //go:generate or //nolint:xyz alone are not documentation; Text drops them.
func hasDoc(cg *ast.CommentGroup) bool {
	return cg != nil && strings.TrimSpace(cg.Text()) != ""
}
