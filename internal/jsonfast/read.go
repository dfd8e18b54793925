package jsonfast

import "unicode/utf8"

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// WalkObject reads the JSON object that is all of b (but space), calling
// member with each member's key and the index where its value starts;
// member returns the index after the value. It reports false as soon as
// member does or as b holds anything WalkObject is unsure of: a key with
// escapes or invalid UTF-8 (see ScanPlainString), or bad JSON between the
// members. member checks the values.
func WalkObject(b []byte, member func(key []byte, i int) (int, bool)) bool {
	i := SkipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return false
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return SkipSpace(b, i+1) == len(b)
	}
	for {
		ks, ke, ok := ScanPlainString(b, i)
		if !ok {
			return false
		}
		i = SkipSpace(b, ke+1)
		if i == len(b) || b[i] != ':' {
			return false
		}
		i = SkipSpace(b, i+1)
		if i == len(b) {
			return false
		}
		if i, ok = member(b[ks:ke], i); !ok {
			return false
		}
		i = SkipSpace(b, i)
		if i == len(b) {
			return false
		}
		if b[i] == '}' {
			return SkipSpace(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = SkipSpace(b, i+1)
	}
}

// ScanPlainString reads the string whose opening quote is b[i] and returns
// the bounds of its contents. It refuses what json.Unmarshal would rewrite
// or reject: escapes, control bytes and invalid UTF-8.
func ScanPlainString(b []byte, i int) (start, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	start = i + 1
	end = start
	for end < len(b) && PlainASCII[b[end]] {
		end++
	}
	if end < len(b) && b[end] == '"' {
		return start, end, true
	}
	// Rarely here: non-ASCII text, or a byte json.Unmarshal would treat
	// specially.
	ascii := true
	for ; end < len(b); end++ {
		switch c := b[end]; {
		case c == '"':
			return start, end, ascii || utf8.Valid(b[start:end])
		case c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, false
}

// PlainASCII marks the bytes a JSON string holds as they are: ASCII other
// than controls, the quote and the backslash. A table keeps the common loop
// to one test per byte.
var PlainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// SkipValue returns the end of the JSON value that starts at b[i], matching
// only quotes and brackets. It does not check the value: a caller that
// needs it valid passes the extent to json.Valid.
func SkipValue(b []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return 0, false
			}
			if depth == 0 {
				return i + 1, true
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i, true
			}
		}
	}
	return 0, false
}
