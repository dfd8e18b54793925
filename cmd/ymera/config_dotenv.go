package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// envFile is what was read from the .env file.
type envFile struct {
	path   string
	values map[string]envEntry
}

func (f envFile) has(key string) bool {
	_, ok := f.values[key]
	return ok
}

// readEnvFile finds, reads and parses the .env file, records its path in
// c.EnvFile and warns in c.Warnings about keys that are repeated or that no
// variable has, which are usually typos.
func readEnvFile(fs *pflag.FlagSet, getenv func(string) (string, bool), c *Config) (envFile, error) {
	path, origin, explicit := defaultEnvFile, "", false
	if f := lookupFlag(fs, envFileFlag); f != nil && f.Changed {
		path, origin, explicit = f.Value.String(), "--"+envFileFlag, true
	} else if v, ok := getenv(envFileVar); ok {
		path, origin, explicit = v, envFileVar, true
	}
	if path == "" {
		return envFile{}, nil // explicitly switched off
	}

	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return envFile{}, nil
	}
	if err != nil {
		return envFile{}, &configError{
			subject:  fmt.Sprintf("%s=%q", origin, path),
			expected: "a readable .env file (" + err.Error() + ")",
		}
	}
	entries, err := parseDotenv(string(data))
	if err != nil {
		return envFile{}, fmt.Errorf("config: .env file %q: %w", path, err)
	}

	f := envFile{path: path, values: make(map[string]envEntry, len(entries))}
	for _, e := range entries {
		switch prev, dup := f.values[e.key]; {
		case dup:
			c.Warnings = append(c.Warnings, fmt.Sprintf(
				"%s line %d: %s is set again (first on line %d); the last value wins", path, e.line, e.key, prev.line))
		case e.key == "REDIS_URL":
			// Warned about once, with the environment, in loadConfig.
		case e.key == envFileVar:
			c.Warnings = append(c.Warnings, fmt.Sprintf(
				"%s line %d: %s is ignored in a .env file; set it in the environment or use --%s", path, e.line, e.key, envFileFlag))
		case settingNamed(e.key) == nil:
			msg := fmt.Sprintf("%s line %d: unknown variable %s is ignored", path, e.line, e.key)
			if near := closestName(e.key); near != "" {
				msg += "; did you mean " + near + "?"
			}
			c.Warnings = append(c.Warnings, msg)
		}
		f.values[e.key] = e
	}
	c.EnvFile = path
	return f, nil
}

// lookupFlag is fs.Lookup that tolerates a nil FlagSet.
func lookupFlag(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil {
		return nil
	}
	return fs.Lookup(name)
}

// closestName returns the variable whose name is within two edits of key,
// or "" if there is none.
func closestName(key string) string {
	best, bestDist := "", 3
	for _, s := range configTable {
		if d := editDistance(key, s.env); d < bestDist {
			best, bestDist = s.env, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// envEntry is one KEY=VALUE assignment of a .env file.
type envEntry struct {
	key, value string
	line       int // where the assignment starts, for messages
}

// parseDotenv reads the .env format as docker compose and godotenv write
// it: KEY=VALUE lines, blank lines and # comments, an optional "export "
// prefix, values unquoted (a # after a space starts a comment), 'single
// quoted' (literal) or "double quoted" (\n, \r, \t, \" and \\ escapes);
// quoted values may span lines. Nothing is interpolated: $HOME stays
// $HOME, because a configuration file that reads the environment would
// undo the precedence of the environment over the file.
func parseDotenv(src string) ([]envEntry, error) {
	src = strings.TrimPrefix(src, "\ufeff")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	var entries []envEntry
	line := 0
	for src != "" {
		line++
		var text string
		var more bool
		text, src, more = strings.Cut(src, "\n")
		text = strings.TrimLeft(text, " \t")
		if text == "" || text[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(text, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			text = strings.TrimLeft(rest, " \t")
		}
		key, val, ok := strings.Cut(text, "=")
		key = strings.TrimRight(key, " \t")
		if !ok || !validEnvKey(key) {
			return nil, fmt.Errorf("line %d: expected KEY=VALUE, KEY made of letters, digits and _", line)
		}
		e := envEntry{key: key, line: line}

		rest := strings.TrimLeft(val, " \t")
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			e.value = strings.Trim(stripComment(val), " \t")
			entries = append(entries, e)
			continue
		}

		// A quoted value may run over several lines: scan the rest of the
		// file, then resume after the line holding the closing quote.
		body := rest[1:]
		if more {
			body += "\n" + src
		}
		value, n, closed := unquote(body, rest[0])
		if !closed {
			return nil, fmt.Errorf("line %d: %s: missing closing %c", e.line, key, rest[0])
		}
		line += strings.Count(body[:n], "\n")
		tail, after, _ := strings.Cut(body[n:], "\n")
		if t := strings.TrimLeft(tail, " \t"); t != "" && t[0] != '#' {
			return nil, fmt.Errorf("line %d: %s: unexpected %q after the closing quote", line, key, t)
		}
		e.value, src = value, after
		entries = append(entries, e)
	}
	return entries, nil
}

// validEnvKey reports whether k is a shell-style variable name.
func validEnvKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if r != '_' && (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// stripComment cuts an unquoted value at a # that follows a space or tab;
// a # right after = or inside a word (#fff, a#b) is part of the value.
func stripComment(v string) string {
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			return v[:i]
		}
	}
	return v
}

// unquote reads a quoted value up to its closing quote q. It returns the
// value, the length of s consumed (closing quote included) and whether the
// quote was closed. Unknown escapes in double quotes are kept as written,
// so a Windows path or a regular expression survives.
func unquote(s string, q byte) (value string, n int, closed bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, true
		case c == '\\' && q == '"' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", len(s), false
}

// envExample renders .env.example from the table: every variable under its
// section, with its meaning, commented out at its default so that a copy
// changes nothing until a line is uncommented.
func envExample() string {
	var b strings.Builder
	b.WriteString(`# YMERA configuration: every variable with its default.
#
# Generated from cmd/ymera/config.go; do not edit by hand. Regenerate with
#   go test ./cmd/ymera -run TestEnvExample -update
#
# Copy to .env and uncomment what you change. Each variable can also be set
# in the environment or with a flag named after it (DATA_DIR → --data-dir).
# Flags win over the environment, the environment over this file, this
# file over the defaults. ymera reads ./.env unless --env-file or ENV_FILE
# names another file ("" reads none).
#
# Durations take a number of seconds (30) or a Go duration (30s, 1m, 1h).
# Booleans take true/false, yes/no or 1/0.
`)
	section := ""
	for _, s := range configTable {
		if s.section != section {
			section = s.section
			fmt.Fprintf(&b, "\n# ---- %s ----\n", section)
		}
		fmt.Fprintf(&b, "\n# %s\n# %s=%s\n", s.help, s.env, quoteEnvValue(s.def))
	}
	return b.String()
}

// quoteEnvValue writes v so that parseDotenv, docker compose and a POSIX
// shell all read it back unchanged.
func quoteEnvValue(v string) string {
	plain := true
	for _, r := range v {
		if !strings.ContainsRune("_-.,:/@+%", r) && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			plain = false
			break
		}
	}
	switch {
	case plain:
		return v
	case !strings.ContainsAny(v, "'\n"):
		return "'" + v + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}
