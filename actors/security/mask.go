package security

import (
	"sort"
	"strings"
)

// The Python and JavaScript rules are token-based: they look for calls in the
// text of the code. To keep "eval(" inside a comment or a string from
// counting, they run on a masked copy of the file in which comments and the
// contents of string literals are replaced by spaces. Masking keeps every
// byte offset and newline in place, so offsets in the copy are offsets in the
// original and line numbers stay right.
//
// Each masker returns two copies: code, with comments and string contents
// blanked, for finding calls; and noComments, with only comments blanked,
// for reading import statements whose module names are strings
// (require('child_process')).

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int

func newLineIndex(s string) lineIndex {
	li := lineIndex{0}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			li = append(li, i+1)
		}
	}
	return li
}

// line returns the 1-based line holding byte offset off.
func (li lineIndex) line(off int) int {
	return sort.Search(len(li), func(i int) bool { return li[i] > off })
}

// blanker builds the two masked copies of a source.
type blanker struct {
	src              string
	code, noComments []byte
}

func newBlanker(src string) *blanker {
	return &blanker{src: src, code: []byte(src), noComments: []byte(src)}
}

// comment blanks src[i:j] in both copies.
func (b *blanker) comment(i, j int) {
	for ; i < j; i++ {
		if b.src[i] != '\n' {
			b.code[i], b.noComments[i] = ' ', ' '
		}
	}
}

// literal blanks src[i:j] in the code copy only.
func (b *blanker) literal(i, j int) {
	for ; i < j; i++ {
		if b.src[i] != '\n' {
			b.code[i] = ' '
		}
	}
}

func (b *blanker) result() (code, noComments string) {
	return string(b.code), string(b.noComments)
}

// maskPython blanks '#' comments and the contents of single-, double- and
// triple-quoted strings, whatever their prefix: the prefix letters (r, b, f)
// stay as code, which no rule matches.
func maskPython(src string) (code, noComments string) {
	b := newBlanker(src)
	n := len(src)
	for i := 0; i < n; {
		switch c := src[i]; c {
		case '#':
			j := endOfLine(src, i)
			b.comment(i, j)
			i = j
		case '\'', '"':
			q := src[i : i+1]
			if strings.HasPrefix(src[i:], q+q+q) {
				start := i + 3
				j := start
				for j < n && !strings.HasPrefix(src[j:], q+q+q) {
					if src[j] == '\\' {
						j++
					}
					j++
				}
				j = min(j, n)
				b.literal(start, j)
				i = min(j+3, n)
				continue
			}
			start := i + 1
			j := start
			for j < n && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' && j+1 < n {
					j++
				}
				j++
			}
			j = min(j, n)
			b.literal(start, j)
			i = j + 1
		default:
			i++
		}
	}
	return b.result()
}

// maskJS blanks // and /* */ comments, and the contents of '…' and "…"
// strings, regular expression literals and the text parts of `…` templates.
// The ${…} parts of a template are code and stay visible, nested templates
// included.
func maskJS(src string) (code, noComments string) {
	b := newBlanker(src)
	n := len(src)
	// braces counts the open '{' of each enclosing ${…}; when the '}' that
	// closes one arrives, scanning returns to the template around it.
	var braces []int
	inTemplate := false
	for i := 0; i < n; {
		c := src[i]
		if inTemplate {
			switch {
			case c == '\\':
				b.literal(i, min(i+2, n))
				i += 2
			case c == '`':
				inTemplate = false
				i++
			case c == '$' && i+1 < n && src[i+1] == '{':
				braces = append(braces, 0)
				inTemplate = false
				i += 2
			default:
				b.literal(i, i+1)
				i++
			}
			continue
		}
		switch {
		case c == '/' && i+1 < n && src[i+1] == '/':
			j := endOfLine(src, i)
			b.comment(i, j)
			i = j
		case c == '/' && i+1 < n && src[i+1] == '*':
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				j = n
			} else {
				j += i + 4
			}
			b.comment(i, j)
			i = j
		case c == '\'' || c == '"':
			j := i + 1
			for j < n && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' && j+1 < n {
					j++
				}
				j++
			}
			j = min(j, n)
			b.literal(i+1, j)
			i = j + 1
		case c == '`':
			inTemplate = true
			i++
		case c == '{':
			if len(braces) > 0 {
				braces[len(braces)-1]++
			}
			i++
		case c == '}':
			if len(braces) > 0 {
				top := len(braces) - 1
				if braces[top] == 0 {
					braces = braces[:top]
					inTemplate = true
				} else {
					braces[top]--
				}
			}
			i++
		case c == '/' && regexAllowed(b.code, i):
			j := endOfRegex(src, i)
			b.literal(i+1, j)
			i = j + 1
		default:
			i++
		}
	}
	return b.result()
}

// regexKeywords are the words after which a '/' starts a regular expression
// rather than a division.
var regexKeywords = map[string]bool{
	"return": true, "typeof": true, "case": true, "delete": true, "void": true,
	"in": true, "of": true, "new": true, "throw": true, "instanceof": true, "yield": true, "await": true,
}

// regexAllowed guesses whether the '/' at i starts a regular expression
// literal, from the code before it: after a value (a name, a number, ')' or
// ']') it is a division; after an operator, a bracket or a keyword such as
// return it is a regular expression.
func regexAllowed(code []byte, i int) bool {
	j := i - 1
	for j >= 0 && (code[j] == ' ' || code[j] == '\t' || code[j] == '\n' || code[j] == '\r') {
		j--
	}
	if j < 0 {
		return true
	}
	c := code[j]
	if c == ')' || c == ']' || c == '}' || c == '"' || c == '\'' || c == '`' {
		return false
	}
	if !isIdentByte(c) {
		return true
	}
	k := j
	for k >= 0 && isIdentByte(code[k]) {
		k--
	}
	return regexKeywords[string(code[k+1:j+1])]
}

// endOfRegex returns the offset of the '/' closing the regular expression
// literal opening at i, or of the end of the line when there is none.
func endOfRegex(src string, i int) int {
	inClass := false
	j := i + 1
	for ; j < len(src) && src[j] != '\n'; j++ {
		switch src[j] {
		case '\\':
			if j+1 < len(src) && src[j+1] != '\n' {
				j++
			}
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '/':
			if !inClass {
				return j
			}
		}
	}
	return j
}

func endOfLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(s)
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
