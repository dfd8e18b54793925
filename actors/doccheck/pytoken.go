package doccheck

import "strings"

// Go's standard library has no Python parser, and a docstring check needs
// far less than one: the logical lines of a file (the statements, with
// bracketed and backslash-continued lines joined), their indentation, and a
// few facts about their tokens. This tokenizer produces exactly that, in
// memory proportional to the number of lines rather than of tokens. It never
// fails: malformed input (an unterminated string, unbalanced brackets)
// yields odd lines, not an error.

type pyTokKind int

const (
	pyName  pyTokKind = iota // an identifier or keyword
	pyStr                    // a string literal
	pyOp                     // a single operator or bracket character
	pyOther                  // a number
)

type pyTok struct {
	kind pyTokKind
	// text is the identifier for names, the lower-cased prefix ("", "r",
	// "rb", "f", ...) for strings and the character for operators.
	text string
}

// pyLine is one logical line: a statement, or a compound statement's header
// with whatever follows its ':' on the same line.
type pyLine struct {
	indent int // the column of its first token, tabs to multiples of 8
	line   int // the 1-based line of its first token
	// head holds the first three tokens: enough for "async def name".
	head []pyTok
	// docstring tells whether the whole line is a docstring statement.
	docstring docTracker
	// colon is set at the first ':' outside brackets, which ends a def or
	// class header; body tells whether what follows it on the line is a
	// docstring statement.
	colon bool
	body  docTracker
}

// docTracker decides, token by token, whether a statement is a docstring:
// string literals only (implicit concatenation allowed), with no prefix or
// an r or u prefix, up to the end of the line or a ';'. f-, b- and
// t-strings are not docstrings: Python does not store them as __doc__.
type docTracker struct{ state uint8 }

const (
	docStart   = iota // no token yet
	docStrings        // only docstring literals so far
	docDone           // docstring literals then ';': a docstring
	docNot            // anything else
)

func (d *docTracker) feed(t pyTok) {
	isDocStr := t.kind == pyStr && (t.text == "" || t.text == "r" || t.text == "u")
	switch d.state {
	case docStart:
		d.state = docNot
		if isDocStr {
			d.state = docStrings
		}
	case docStrings:
		switch {
		case isDocStr:
		case t.kind == pyOp && t.text == ";":
			d.state = docDone
		default:
			d.state = docNot
		}
	}
}

// any reports whether a token was fed.
func (d docTracker) any() bool { return d.state != docStart }

// is reports whether the tokens fed form a docstring statement.
func (d docTracker) is() bool { return d.state == docStrings || d.state == docDone }

// pyStringPrefixes are the prefixes Python accepts before a string literal,
// lower-cased (t is for the template strings of Python 3.14).
var pyStringPrefixes = map[string]bool{
	"r": true, "u": true, "b": true, "f": true, "t": true,
	"br": true, "rb": true, "fr": true, "rf": true, "tr": true, "rt": true,
}

func pyLogicalLines(src string) []pyLine {
	var (
		out    []pyLine
		cur    *pyLine
		line   = 1
		depth  = 0
		indent = 0
		// atStart is true at the start of a physical line that begins a new
		// logical line, where indentation is measured.
		atStart = true
	)
	add := func(t pyTok) {
		if cur == nil {
			cur = &pyLine{indent: indent, line: line}
		}
		if len(cur.head) < 3 {
			cur.head = append(cur.head, t)
		}
		cur.docstring.feed(t)
		if cur.colon {
			cur.body.feed(t)
		} else if depth == 0 && t.kind == pyOp && t.text == ":" {
			cur.colon = true
		}
	}
	end := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	n := len(src)
	for i := 0; i < n; {
		if atStart {
			indent = 0
			for i < n && (src[i] == ' ' || src[i] == '\t' || src[i] == '\f') {
				if src[i] == '\t' {
					indent = (indent/8 + 1) * 8
				} else {
					indent++
				}
				i++
			}
			atStart = false
			continue
		}
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
			if depth == 0 {
				end()
				atStart = true
			}
		case c == '\\' && i+1 < n && (src[i+1] == '\n' || src[i+1] == '\r'):
			// An explicit line join: the statement goes on.
			i++
			if src[i] == '\r' && i+1 < n && src[i+1] == '\n' {
				i++
			}
			i++
			line++
		case c == ' ' || c == '\t' || c == '\f' || c == '\r':
			i++
		case c == '#':
			for i < n && src[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"':
			add(pyTok{kind: pyStr}) // before skipping, to start on the right line
			i, line = skipPyString(src, i, line)
		case isPyIdentStart(c):
			j := i
			for j < n && isPyIdentByte(src[j]) {
				j++
			}
			word := src[i:j]
			if j < n && (src[j] == '\'' || src[j] == '"') && pyStringPrefixes[strings.ToLower(word)] {
				add(pyTok{kind: pyStr, text: strings.ToLower(word)})
				i, line = skipPyString(src, j, line)
				continue
			}
			add(pyTok{kind: pyName, text: word})
			i = j
		case '0' <= c && c <= '9':
			j := i
			for j < n && (isPyIdentByte(src[j]) || src[j] == '.') {
				j++
			}
			add(pyTok{kind: pyOther})
			i = j
		default:
			switch c {
			case ')', ']', '}':
				depth = max(0, depth-1)
			}
			add(pyTok{kind: pyOp, text: string(c)})
			switch c {
			case '(', '[', '{':
				depth++
			}
			i++
		}
	}
	end()
	return out
}

// skipPyString returns the offset just past the string literal whose
// opening quote is at i, and the line it ends on. A backslash always escapes
// the next character, as it does for the quote even in raw strings. A
// single-quoted string ends at the end of its line if it is not closed.
func skipPyString(src string, i, line int) (int, int) {
	n := len(src)
	q := src[i]
	if i+2 < n && src[i+1] == q && src[i+2] == q {
		for j := i + 3; j < n; j++ {
			switch src[j] {
			case '\\':
				if j+1 < n && src[j+1] == '\n' {
					line++
				}
				j++
			case '\n':
				line++
			case q:
				if j+2 < n && src[j+1] == q && src[j+2] == q {
					return j + 3, line
				}
			}
		}
		return n, line
	}
	for j := i + 1; j < n; j++ {
		switch src[j] {
		case '\\':
			if j+1 < n && src[j+1] == '\n' {
				line++
			}
			j++
		case '\n':
			return j, line
		case q:
			return j + 1, line
		}
	}
	return n, line
}

func isPyIdentStart(c byte) bool {
	return c == '_' || c >= 0x80 || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isPyIdentByte(c byte) bool {
	return isPyIdentStart(c) || ('0' <= c && c <= '9')
}
