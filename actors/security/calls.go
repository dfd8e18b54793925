package security

import (
	"sort"
	"strings"
)

// Finding calls in masked code (see mask.go), and what surrounds them: their
// arguments, the word before them. Everything here is one pass or a bounded
// look around an offset, so scanning stays linear in the size of a file.

// call is one call found in masked code: its callee as a dotted name with the
// spaces removed ("subprocess.run", "eval", "self.model.eval"), the offset of
// the callee and the offset of its '('.
type call struct {
	callee      string
	start, open int
}

// calls lists the calls in masked code, in order. The whole dotted name is
// the callee, which is what tells model.eval() (callee "model.eval") from
// eval(). Calls of a method on the result of an expression (load(f).eval(),
// x?.eval()) are left out: their callee cannot be resolved and none of the
// rules is about such a method. One pass, so a large file costs no more than
// its length.
func calls(code string) []call {
	var out []call
	n := len(code)
	for i := 0; i < n; {
		c := code[i]
		if !isIdentByte(c) {
			i++
			continue
		}
		start := i
		if isDigit(c) { // a number, not a name: skip it whole
			for i < n && isIdentByte(code[i]) {
				i++
			}
			continue
		}
		end := i
		for {
			for end < n && isIdentByte(code[end]) {
				end++
			}
			k := skipSpace(code, end)
			if k < n && code[k] == '.' {
				if k2 := skipSpace(code, k+1); k2 < n && isIdentByte(code[k2]) && !isDigit(code[k2]) {
					end = k2
					continue
				}
			}
			break
		}
		if k := skipSpace(code, end); k < n && code[k] == '(' && !afterDot(code, start) {
			out = append(out, call{callee: spaces.Replace(code[start:end]), start: start, open: k})
		}
		i = end
	}
	return out
}

var spaces = strings.NewReplacer(" ", "", "\t", "", "\n", "", "\r", "")

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// afterDot reports whether the text before offset i, spaces skipped, ends
// with '.'.
func afterDot(code string, i int) bool {
	for i > 0 {
		switch code[i-1] {
		case ' ', '\t', '\n', '\r':
			i--
		case '.':
			return true
		default:
			return false
		}
	}
	return false
}

// closingParens returns, for each offset in opens (ascending offsets of '('
// in masked code, where brackets in strings and comments are blank), the
// offset of its closing bracket, or len(code) if it is never closed. It makes
// one pass for all calls, so that nested or unclosed calls in a large file
// cannot make finding arguments quadratic.
func closingParens(code string, opens []int) []int {
	closes := make([]int, len(opens))
	for i := range closes {
		closes[i] = len(code)
	}
	type open struct{ idx, depth int }
	var stack []open // only the wanted opens, each with its depth
	next, depth := 0, 0
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case '(', '[', '{':
			for next < len(opens) && opens[next] < i {
				next++ // not a bracket: ignore
			}
			if next < len(opens) && opens[next] == i {
				stack = append(stack, open{next, depth})
				next++
			}
			depth++
		case ')', ']', '}':
			depth--
			if top := len(stack) - 1; top >= 0 && stack[top].depth == depth {
				closes[stack[top].idx] = i
				stack = stack[:top]
			}
		}
	}
	return closes
}

// anyWithin reports whether a sorted list of offsets holds one in (lo, hi).
func anyWithin(offsets []int, lo, hi int) bool {
	i := sort.SearchInts(offsets, lo+1)
	return i < len(offsets) && offsets[i] < hi
}

// wordOffsets returns the offsets where word occurs in s as a whole word.
// strings.Index makes this much faster than a regular expression on large
// files.
func wordOffsets(s, word string) []int {
	var out []int
	for off := 0; ; {
		i := strings.Index(s[off:], word)
		if i < 0 {
			return out
		}
		i += off
		off = i + len(word)
		if (i == 0 || !isIdentByte(s[i-1])) && (off == len(s) || !isIdentByte(s[off])) {
			out = append(out, i)
		}
	}
}

// precededByWord reports whether the word just before offset i (spaces
// skipped) is w, to tell "def eval(" from "eval(".
func precededByWord(code string, i int, w string) bool {
	j := i
	for j > 0 && (code[j-1] == ' ' || code[j-1] == '\t') {
		j--
	}
	k := j
	for k > 0 && isIdentByte(code[k-1]) {
		k--
	}
	return code[k:j] == w
}
