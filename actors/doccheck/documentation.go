package doccheck

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/ymera/ymera/actors"
)

// Undocumented is one declaration that needs documentation and has none.
type Undocumented struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Kind is one of package, module, type, class, function, method,
	// const and var.
	Kind string `json:"kind"`
	// Name is the declared name; methods are Type.Method (Go) or
	// Class.method (Python).
	Name string `json:"name"`
}

// FileCoverage is the coverage of one analysed file.
type FileCoverage struct {
	Path       string  `json:"path"`
	Language   string  `json:"language"`
	Coverage   float64 `json:"coverage"`
	Documented int     `json:"documented"`
	Total      int     `json:"total"`
}

// FileError is a file that could not be analysed.
type FileError struct {
	File    string `json:"file"`
	Message string `json:"message"`
}

// MaxUndocumented is the most undocumented declarations a report lists. A
// task result travels on the queue and is stored, so it must stay small
// whatever the input; the counts and coverage still cover everything.
const MaxUndocumented = 1000

// Report is the output of a documentation_check task. Every list is present,
// empty rather than null.
type Report struct {
	// Coverage is Documented/Total as a percentage with one decimal, or 100
	// when there is nothing to document.
	Coverage   float64 `json:"coverage"`
	Documented int     `json:"documented"`
	Total      int     `json:"total"`
	// Undocumented is sorted by file, then line, and holds at most
	// MaxUndocumented entries.
	Undocumented []Undocumented `json:"undocumented"`
	// Truncated is true when Undocumented was cut to MaxUndocumented
	// entries; it is omitted otherwise.
	Truncated bool `json:"truncated,omitempty"`
	// Files lists the analysed files in input order.
	Files []FileCoverage `json:"files"`
	// Skipped lists the paths of files in languages this agent does not
	// analyse, in input order.
	Skipped []string `json:"skipped"`
	// Errors lists the files that could not be parsed, in input order.
	Errors []FileError `json:"errors"`
}

// Kind describes the documentation agent for the supervisor.
func Kind() actors.Kind {
	return actors.Kind{
		Name:        "documentation",
		Description: "Measures how much of the public API of Go and Python files is documented",
		TaskTypes:   []string{"documentation_check"},
		New:         func() actors.Agent { return &Agent{} },
	}
}

// Agent runs documentation_check tasks. It holds no state.
type Agent struct{}

// Process decodes the task's files, checks them and returns the Report as
// the task output. Bad parameters fail permanently.
func (a *Agent) Process(ctx context.Context, t actors.Task) (actors.Result, error) {
	files, err := actors.DecodeFiles(t.Parameters)
	if err != nil {
		return actors.Result{}, err
	}
	r, err := Check(ctx, files)
	if err != nil {
		return actors.Result{}, err
	}
	return actors.JSONResult(r)
}

// item is one declaration that needs documentation.
type item struct {
	file       string
	line       int
	kind, name string
	documented bool
}

// analysed is one file that was analysed, with its items.
type analysed struct {
	path, language string
	items          []item
}

// Check measures the documentation of Go and Python files; files in other
// languages are listed as skipped and Go files that do not parse as errors.
// Go package clauses are counted per package across files, so all Go files
// are parsed before any is counted. The only error is ctx's, checked
// between files.
func Check(ctx context.Context, files []actors.SourceFile) (Report, error) {
	r := Report{Undocumented: []Undocumented{}, Files: []FileCoverage{}, Skipped: []string{}, Errors: []FileError{}}
	var done []*analysed
	var goFiles []goFile
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		switch lang := actors.Language(f.Path); lang {
		case "go":
			gf, err := parseGo(f.Path, f.Content)
			if err != nil {
				r.Errors = append(r.Errors, FileError{File: f.Path, Message: "could not parse: " + err.Error()})
				continue
			}
			a := &analysed{path: f.Path, language: lang, items: goItems(gf)}
			gf.analysed = a
			goFiles = append(goFiles, gf)
			done = append(done, a)
		case "python":
			done = append(done, &analysed{path: f.Path, language: lang, items: pythonItems(f.Path, f.Content)})
		default:
			r.Skipped = append(r.Skipped, f.Path)
		}
	}
	addGoPackages(goFiles)

	for _, a := range done {
		fc := FileCoverage{Path: a.path, Language: a.language}
		for _, it := range a.items {
			fc.Total++
			if it.documented {
				fc.Documented++
				continue
			}
			r.Undocumented = append(r.Undocumented, Undocumented{File: it.file, Line: it.line, Kind: it.kind, Name: it.name})
		}
		fc.Coverage = percent(fc.Documented, fc.Total)
		r.Files = append(r.Files, fc)
		r.Documented += fc.Documented
		r.Total += fc.Total
	}
	r.Coverage = percent(r.Documented, r.Total)
	slices.SortStableFunc(r.Undocumented, func(a, b Undocumented) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	if len(r.Undocumented) > MaxUndocumented {
		r.Undocumented, r.Truncated = r.Undocumented[:MaxUndocumented], true
	}
	return r, nil
}

// percent is documented/total as a percentage rounded to one decimal; with
// nothing to document, everything is documented.
func percent(documented, total int) float64 {
	if total == 0 {
		return 100
	}
	return math.Round(float64(documented)*1000/float64(total)) / 10
}
