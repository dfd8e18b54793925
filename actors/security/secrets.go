package security

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// secretRule finds one kind of credential by its shape. Secrets are found
// line by line in every file, comments included: a key pasted into a comment
// has leaked just the same.
type secretRule struct {
	id   string
	what string // a human name for the message
	re   *regexp.Regexp
	// group is the submatch holding the secret; 0 means the whole match and
	// -1 means there is no value worth showing (a PEM header).
	group int
	// ignore, when set, recognises documented example values.
	ignore func(value string) bool
	// hints are lower-case strings of which a line must contain one for
	// the rule to run on it: a cheap filter that spares most lines the
	// regular expression.
	hints []string
}

// isAWSExample recognises the example credentials of the AWS documentation
// (AKIAIOSFODNN7EXAMPLE, wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY), which are
// everywhere in tutorials and tests.
func isAWSExample(v string) bool { return strings.Contains(strings.ToUpper(v), "EXAMPLE") }

// secretRules are the credentials recognisable by their own format. Compiled
// once; regexp.Regexp is safe for concurrent use, so all agents share them.
var secretRules = []secretRule{
	{
		id: ruleAWSAccessKey, what: "AWS access key id", group: 1, ignore: isAWSExample, hints: []string{"akia", "asia"},
		re: regexp.MustCompile(`\b((?:AKIA|ASIA)[0-9A-Z]{16})\b`),
	},
	{
		id: ruleAWSSecretKey, what: "AWS secret access key", group: 1, ignore: isAWSExample, hints: []string{"secret"},
		re: regexp.MustCompile(`(?i)aws_?secret_?(?:access_?)?key["'\]]?\s*(?::=|=>|=|:)\s*["']?([a-z0-9/+=]{40})(?:[^a-z0-9/+=]|$)`),
	},
	{
		id: rulePrivateKey, what: "private key block", group: -1, hints: []string{"private key"},
		re: regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`),
	},
	{
		id: ruleGitHubToken, what: "GitHub token", group: 1, hints: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		re: regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`),
	},
	{
		// Slack tokens carry numeric workspace and user ids after the prefix;
		// requiring them skips "xoxb-your-token-here".
		id: ruleSlackToken, what: "Slack token", group: 1, hints: []string{"xox"},
		re: regexp.MustCompile(`\b(xox[baprs]-[0-9]+-[0-9A-Za-z-]{8,})`),
	},
	{
		id: ruleStripeLiveKey, what: "Stripe live key", group: 1, hints: []string{"_live_"},
		re: regexp.MustCompile(`\b([sr]k_live_[0-9A-Za-z]{16,})`),
	},
	{
		id: ruleGoogleAPIKey, what: "Google API key", group: 1, hints: []string{"aiza"},
		re: regexp.MustCompile(`\b(AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)`),
	},
	{
		// A JWT is three base64url parts, the first two JSON objects (so
		// "eyJ", the encoding of `{"`). Only tokens in a literal, an
		// assignment or a Bearer header count, not ones inside prose or URLs.
		id: ruleJWT, what: "JSON Web Token", group: 1, hints: []string{"eyj"},
		re: regexp.MustCompile(`(?:["'\x60=:]\s*|[Bb]earer\s+)(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})`),
	},
}

// credentialWords are the names that announce a credential: password,
// passwd, passphrase, secret, api key, access/auth/api/bearer/refresh token,
// private key, credential.
const credentialWords = `(?:passw(?:or)?d|passphrase|secret|api[_\-]?key|(?:access|auth|api|bearer|refresh)[_\-]?token|private[_\-]?key|credential)`

// credentialHints filter lines for the credential rules: every match of
// credentialWords contains one of them.
var credentialHints = []string{"passw", "passphrase", "secret", "key", "token", "credential"}

var (
	// assignedLiteral matches a credential-named identifier, dict key or
	// keyword argument assigned a string literal in any language:
	// password = "…", password := "…", "password": "…", password => '…',
	// data["password"] = "…", password: str = "…", var password string = "…".
	// A value computed at run time (os.getenv("PASSWORD"), process.env.X)
	// starts with no quote and is never matched.
	//
	// It is anchored: it runs from the start of each identifier that holds a
	// credential hint (see matchAssignedLiteral) rather than from every
	// offset of the line, which is several times faster.
	assignedLiteral = regexp.MustCompile(`(?i)^([a-z0-9_.\-]*` + credentialWords + `[a-z0-9_.\-]*)["'\x60]?\]?` +
		`(?:\s*:?\s*[a-z_][a-z0-9_.\[\]]*)?` + // an optional type: Python and TypeScript annotations, Go var types
		`\s*(?::=|=>|=|:)\s*[a-z]{0,2}` + // the operator, then string prefixes (r"", b'', f"")
		`(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|\x60([^\x60]*)\x60)`)

	// configEntry matches KEY=value and key: value lines of configuration
	// files, where values need no quotes.
	configEntry = regexp.MustCompile(`(?i)^\s*(?:export\s+)?([a-z0-9_.\-]*` + credentialWords + `[a-z0-9_.\-]*)["']?\s*[=:]\s*(.*)$`)

	// credentialWord finds the word in a value: a value that names the
	// credential ("password", "app-secret", "secret.rule-id") is a label.
	credentialWord = regexp.MustCompile(`(?i)passw|passphrase|secret|token|credential`)
)

// nonValueSuffixes end names that hold something about a credential rather
// than the credential: PASSWORD_MIN_LENGTH, passwordField, secret_name,
// SECRET_ARN, token_type, password_reset_url.
var nonValueSuffixes = []string{
	"name", "field", "label", "hint", "prompt", "placeholder", "message", "msg",
	"text", "title", "len", "length", "min", "max", "file", "path", "dir",
	"env", "var", "type", "policy", "pattern", "regex", "format", "header",
	"param", "url", "uri", "endpoint", "id", "arn", "ref", "version", "input",
	"error", "err", "prefix", "suffix",
}

// placeholderWords are values that are obviously not real credentials.
var placeholderWords = map[string]bool{
	"password": true, "passwd": true, "secret": true, "example": true,
	"placeholder": true, "dummy": true, "todo": true, "tbd": true, "fixme": true,
	"null": true, "none": true, "nil": true, "undefined": true, "redacted": true,
	"hidden": true, "masked": true, "test": true, "true": true, "false": true,
}

// isPlaceholder decides whether a value assigned to a credential-named
// identifier is not a real credential. This is the rule documented in the
// package comment:
//
//   - empty, or containing whitespace (prose: labels, prompts, messages);
//   - a reference rather than a value: starting with '$' ($VAR, ${VAR}) or
//     containing '{' (templates, f-strings) or "%(" (Python formats);
//   - wrapped in <angle brackets> (<your-password>);
//   - made only of masking characters: x X * . # - _ • … (xxx, ***, ••••);
//   - starting with a YAML tag, anchor, alias or block marker (! & * | >);
//   - a well-known dummy word (changeme, password, secret, todo, null, ...),
//     or containing changeme, example, placeholder, redacted or dummy, or
//     starting with "your";
//   - containing a credential word itself (passw, secret, token,
//     credential): such a value names a field or an id, as in
//     PASSWORD_FIELD = "password" or SECRET_REF = "app-secret".
func isPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || strings.IndexFunc(v, unicode.IsSpace) >= 0 {
		return true
	}
	if strings.HasPrefix(v, "$") || strings.Contains(v, "{") || strings.Contains(v, "%(") {
		return true
	}
	if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
		return true
	}
	if strings.Trim(v, "xX*.#-_•…") == "" {
		return true
	}
	if strings.ContainsAny(v[:1], "!&*|>") {
		return true
	}
	l := strings.ToLower(v)
	if placeholderWords[l] || strings.HasPrefix(l, "your") {
		return true
	}
	for _, w := range []string{"changeme", "change_me", "change-me", "example", "placeholder", "redacted", "dummy"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return credentialWord.MatchString(v)
}

// isNonValueName reports whether a credential-named identifier holds
// something about the credential rather than the credential itself.
func isNonValueName(name string) bool {
	n := strings.ToLower(strings.Trim(name, `"'`+"`"))
	for _, s := range nonValueSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// isConfigFile reports whether unquoted KEY=value entries are values in this
// file: dotenv files, shell rc files of direnv, and the common config formats.
func isConfigFile(p string) bool {
	base := strings.ToLower(path.Base(strings.ReplaceAll(p, `\`, "/")))
	if base == ".env" || base == ".envrc" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env") {
		return true
	}
	switch path.Ext(base) {
	case ".ini", ".cfg", ".conf", ".properties", ".toml", ".yaml", ".yml":
		return true
	}
	return false
}

// scanSecrets applies the secret rules to every line of a file. Each rule
// reports at most once per line. The generic credential rule only runs on a
// line no specific rule matched, so a GitHub token assigned to "token" is one
// finding, not two.
func scanSecrets(file, content string) []Finding {
	var out []Finding
	config := isConfigFile(file)
	for i, line := range strings.Split(content, "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		lower := asciiLower(line)
		specific := false
		for _, r := range secretRules {
			if !containsAny(lower, r.hints) {
				continue
			}
			if f, ok := r.match(file, n, line); ok {
				out = append(out, f)
				specific = true
			}
		}
		if specific || !containsAny(lower, credentialHints) {
			continue
		}
		if f, ok := matchAssignedLiteral(file, n, line, lower); ok {
			out = append(out, f)
		} else if config {
			if f, ok := matchConfigEntry(file, n, line); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func (r secretRule) match(file string, line int, text string) (Finding, bool) {
	for _, m := range r.re.FindAllStringSubmatchIndex(text, -1) {
		if r.group < 0 {
			return newFinding(file, line, r.id, "%s hard-coded", r.what), true
		}
		v := text[m[2*r.group]:m[2*r.group+1]]
		if r.ignore != nil && r.ignore(v) {
			continue
		}
		return newFinding(file, line, r.id, "%s %q hard-coded", r.what, mask(v)), true
	}
	return Finding{}, false
}

func matchAssignedLiteral(file string, line int, text, lower string) (Finding, bool) {
	for _, start := range identStarts(lower, credentialHints) {
		m := assignedLiteral.FindStringSubmatchIndex(text[start:])
		if m == nil {
			continue
		}
		name := text[start+m[2] : start+m[3]]
		var value string
		for g := 2; g <= 4; g++ {
			if m[2*g] >= 0 {
				value = text[start+m[2*g] : start+m[2*g+1]]
				break
			}
		}
		if isNonValueName(name) || isPlaceholder(value) {
			continue
		}
		return credentialFinding(file, line, name, value), true
	}
	return Finding{}, false
}

// identStarts returns, in order and once each, the offsets where the
// identifiers (in the wide sense of assignedLiteral: letters, digits, _ . -)
// holding one of hints start. Each byte is walked over at most once, however
// many hints one long identifier holds.
func identStarts(lower string, hints []string) []int {
	var occ []int
	for _, h := range hints {
		occ = append(occ, allIndexes(lower, h)...)
	}
	slices.Sort(occ)
	var starts []int
	prev, prevStart := -1, -1
	for _, i := range occ {
		j := i
		for j > 0 && j > prev && isCredentialNameByte(lower[j-1]) {
			j--
		}
		if j == prev { // reached the previous hint: same identifier
			j = prevStart
		}
		if len(starts) == 0 || starts[len(starts)-1] != j {
			starts = append(starts, j)
		}
		prev, prevStart = i, j
	}
	return starts
}

func allIndexes(s, sub string) []int {
	var out []int
	for off := 0; ; {
		i := strings.Index(s[off:], sub)
		if i < 0 {
			return out
		}
		out = append(out, off+i)
		off += i + len(sub)
	}
}

func isCredentialNameByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}

// asciiLower lower-cases ASCII letters only, so that offsets in the result
// are offsets in s (strings.ToLower may change the length of non-ASCII text).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func matchConfigEntry(file string, line int, text string) (Finding, bool) {
	m := configEntry.FindStringSubmatch(text)
	if m == nil || isNonValueName(m[1]) {
		return Finding{}, false
	}
	value := configValue(m[2])
	if isPlaceholder(value) {
		return Finding{}, false
	}
	return credentialFinding(file, line, m[1], value), true
}

// configValue is the value of a config entry: the text inside quotes, or
// the unquoted text before an inline comment.
func configValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : 1+end]
		}
	}
	for _, c := range []string{" #", "\t#", " ;", "\t;"} {
		if i := strings.Index(v, c); i >= 0 {
			v = v[:i]
		}
	}
	return strings.TrimSpace(v)
}

func credentialFinding(file string, line int, name, value string) Finding {
	return newFinding(file, line, ruleHardcodedSecret,
		"hard-coded credential assigned to %q (%q); read it from the environment or a secret store",
		strings.Trim(name, `"'`+"`"), mask(value))
}

// mask shows just enough of a secret to find it again: at most its first
// four characters, and never more than a quarter of it, then "…".
func mask(v string) string {
	n := min(4, utf8.RuneCountInString(v)/4)
	i := 0
	for ; n > 0 && i < len(v); n-- {
		_, size := utf8.DecodeRuneInString(v[i:])
		i += size
	}
	return v[:i] + "…"
}
