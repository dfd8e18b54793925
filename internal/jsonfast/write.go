// Package jsonfast reads and writes JSON by hand for the few bodies
// handled on every task (the task and event messages, the answers of
// POST /tasks and GET /tasks/{id}), where encoding/json's reflection and
// allocations were a measurable share of a task's CPU. Each writer either
// produces encoding/json's bytes or reports that it cannot, and each reader
// reports what it is unsure of, so that the caller falls back to
// encoding/json and keeps its output, its answers and its errors exactly.
// The tests and the callers' fuzz tests compare the two.
package jsonfast

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as encoding/json escapes
// it with HTML escaping off (json.Encoder.SetEscapeHTML(false), which is how
// huma writes answers): the quote, the backslash and ASCII controls; U+2028
// and U+2029, which it escapes for JavaScript; invalid UTF-8 becomes
// U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// MaxTimeLen is the longest time AppendTime writes without failing (a
// four-digit year and an offset in place of the Z), without its quotes.
const MaxTimeLen = len(time.RFC3339Nano)

// AppendTime appends t quoted, as Time.MarshalJSON writes it, and reports
// false where MarshalJSON fails instead: for a year that does not take
// exactly four digits, or a zone offset of 24 hours or more.
func AppendTime(dst []byte, t time.Time) ([]byte, bool) {
	dst = append(dst, '"')
	start := len(dst)
	// MarshalJSON formats with this layout and then checks the result.
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	s := dst[start:]
	// A year below 0 starts with '-' and one above 9999 has five digits:
	// either way s[4] is not the dash after the year.
	if len(s) < len("2006-01-02T15:04:05Z") || s[4] != '-' {
		return dst, false
	}
	if s[len(s)-1] != 'Z' {
		// The offset ends "hh:mm"; a wider hour pushes a digit where
		// its sign should be.
		sign := s[len(s)-len("-07:00")]
		hh := s[len(s)-len("07:00"):]
		if (sign != '+' && sign != '-') || hh[0] > '2' || (hh[0] == '2' && hh[1] >= '4') {
			return dst, false
		}
	}
	return append(dst, '"'), true
}

// AppendRaw appends the JSON value raw compacted, as encoding/json writes
// a json.RawMessage or a MarshalJSON result with HTML escaping off, and
// reports false when raw is not valid JSON (encoding/json fails there).
func AppendRaw(dst, raw []byte) ([]byte, bool) {
	n := len(dst)
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst[:n], false
	}
	return buf.Bytes(), true
}
