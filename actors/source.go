package actors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// Limits on the files a code-analysis task may carry. They keep one task from
// holding a worker (and the queue message) hostage: larger inputs belong in a
// repository the agent reads, not in task parameters.
const (
	// MaxFiles is the most files one task may carry.
	MaxFiles = 1000
	// MaxContentBytes is the most content, summed over all files, one task
	// may carry: 10 MiB.
	MaxContentBytes = 10 << 20
)

// SourceFile is one file handed to a code-analysis agent. Path is what the
// agent reports findings against; it is never opened.
type SourceFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// FilesParams is the parameters object of code-analysis tasks
// (security_scan, documentation_check, ...):
//
//	{"files": [{"path": "main.go", "content": "package main ..."}]}
type FilesParams struct {
	Files []SourceFile `json:"files"`
}

// DecodeFiles decodes and validates the parameters of a code-analysis task.
// Every error it returns is Permanent and says what is wrong with the input:
// malformed JSON, no files, a file without a path, more than MaxFiles files,
// or more than MaxContentBytes of content. Unknown fields are ignored so that
// agents can add their own options next to "files".
func DecodeFiles(params json.RawMessage) ([]SourceFile, error) {
	if len(bytes.TrimSpace(params)) == 0 {
		return nil, invalidFiles("no parameters: expected {\"files\": [{\"path\": ..., \"content\": ...}]}")
	}
	var p FilesParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, invalidFiles("malformed JSON: %v", err)
	}
	if len(p.Files) == 0 {
		return nil, invalidFiles("no files: \"files\" must list at least one {\"path\", \"content\"} object")
	}
	if len(p.Files) > MaxFiles {
		return nil, invalidFiles("%d files: at most %d are allowed per task", len(p.Files), MaxFiles)
	}
	total := 0
	for i, f := range p.Files {
		if strings.TrimSpace(f.Path) == "" {
			return nil, invalidFiles("files[%d] has an empty path", i)
		}
		total += len(f.Content)
		if total > MaxContentBytes {
			return nil, invalidFiles("more than %d bytes of content in total (reached at files[%d] %q)", MaxContentBytes, i, f.Path)
		}
	}
	return p.Files, nil
}

func invalidFiles(format string, args ...any) error {
	return Permanent(fmt.Errorf("actors: invalid files parameters: "+format, args...))
}

// Language names the programming language of a file from its extension
// (case-insensitive): "go", "python", "javascript", "typescript", or "" when
// the extension is none of those.
func Language(p string) string {
	// Paths may come from Windows clients; only the extension matters.
	p = strings.ReplaceAll(p, `\`, "/")
	switch strings.ToLower(path.Ext(p)) {
	case ".go":
		return "go"
	case ".py", ".pyw":
		return "python"
	case ".js", ".mjs", ".cjs", ".jsx":
		return "javascript"
	case ".ts", ".mts", ".cts", ".tsx":
		return "typescript"
	}
	return ""
}
