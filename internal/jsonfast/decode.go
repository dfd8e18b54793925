package jsonfast

import (
	"encoding/json"
	"strconv"
)

// MaxDepth is how deeply the decoder here nests objects and arrays before
// it gives up and leaves the document to encoding/json (which allows
// 10,000 levels and names the error past them).
const MaxDepth = 128

// DecodeAny returns what json.Unmarshal gives for b into an `any`:
// map[string]any, []any, string, float64, bool or nil. It reports false
// for anything it does not decode exactly as encoding/json would (a
// document that is not JSON, a number past float64's range, nesting past
// MaxDepth), and the caller then asks encoding/json, which also names the
// error. A string with escapes or invalid UTF-8 is handed to encoding/json
// alone, so its decoding is encoding/json's own. The strings without
// escapes share one copy of b.
func DecodeAny(b []byte) (any, bool) {
	d := decoder{b: b}
	d.i = SkipSpace(b, 0)
	v, ok := d.value(true)
	if !ok || SkipSpace(b, d.i) != len(b) {
		return nil, false
	}
	return v, true
}

// ValueEnd checks the JSON value that starts at b[i] and returns the index
// just after it. It reports false where the value is not JSON or nests
// past MaxDepth. Unlike DecodeAny it takes any number JSON allows, as a
// json.RawMessage keeps it.
func ValueEnd(b []byte, i int) (int, bool) {
	d := decoder{b: b, i: i}
	if _, ok := d.value(false); !ok {
		return 0, false
	}
	return d.i, true
}

// decoder reads one JSON value at b[i], leaving i after it.
type decoder struct {
	b     []byte
	i     int
	depth int
	s     string // b as a string, made for the first string kept
}

// value reads the value at d.i. With keep false it only checks it, and
// builds nothing.
func (d *decoder) value(keep bool) (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(keep)
	case c == '[':
		return d.array(keep)
	case c == '"':
		return d.string(keep)
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number(keep)
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

func (d *decoder) literal(word string) bool {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return false
	}
	d.i += len(word)
	return true
}

// enter steps past an opening bracket and the space after it, reporting
// false past MaxDepth, and empty when the closing bracket follows at once
// (which it steps past too); otherwise next steps out.
func (d *decoder) enter(closing byte) (empty, ok bool) {
	d.depth++
	d.i = SkipSpace(d.b, d.i+1)
	if d.depth > MaxDepth {
		return false, false
	}
	if d.i < len(d.b) && d.b[d.i] == closing {
		d.i++
		d.depth--
		return true, true
	}
	return false, true
}

func (d *decoder) object(keep bool) (any, bool) {
	empty, ok := d.enter('}')
	if !ok {
		return nil, false
	}
	var m map[string]any
	if keep {
		m = make(map[string]any)
	}
	if empty {
		return m, true
	}
	for {
		k, ok := d.string(keep)
		if !ok {
			return nil, false
		}
		d.i = SkipSpace(d.b, d.i)
		if d.i == len(d.b) || d.b[d.i] != ':' {
			return nil, false
		}
		d.i = SkipSpace(d.b, d.i+1)
		v, ok := d.value(keep)
		if !ok {
			return nil, false
		}
		if keep {
			m[k.(string)] = v
		}
		if closed, ok := d.next('}'); !ok || closed {
			return m, ok
		}
	}
}

func (d *decoder) array(keep bool) (any, bool) {
	empty, ok := d.enter(']')
	if !ok {
		return nil, false
	}
	var a []any
	if keep {
		a = make([]any, 0)
	}
	if empty {
		return a, true
	}
	for {
		v, ok := d.value(keep)
		if !ok {
			return nil, false
		}
		if keep {
			a = append(a, v)
		}
		if closed, ok := d.next(']'); !ok || closed {
			return a, ok
		}
	}
}

// next reads what follows a member or an element: the closing bracket
// (closed), or a comma and the space after it. A comma followed by the
// closing bracket is refused where the next member or element is read.
func (d *decoder) next(closing byte) (closed, ok bool) {
	d.i = SkipSpace(d.b, d.i)
	if d.i == len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case closing:
		d.i++
		d.depth--
		return true, true
	case ',':
		d.i = SkipSpace(d.b, d.i+1)
		return false, true
	}
	return false, false
}

// string reads the string at d.i. A string with escapes or invalid UTF-8
// is decoded by encoding/json, so that its escapes and replacement
// characters are exactly encoding/json's.
func (d *decoder) string(keep bool) (any, bool) {
	start, end, ok := ScanPlainString(d.b, d.i)
	if ok {
		d.i = end + 1
		if !keep {
			return nil, true
		}
		if d.s == "" {
			d.s = string(d.b)
		}
		return d.s[start:end], true
	}
	end, ok = stringEnd(d.b, d.i)
	if !ok {
		return nil, false
	}
	tok := d.b[d.i:end]
	d.i = end
	if !keep {
		return nil, true
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return nil, false
	}
	return s, true
}

// stringEnd returns the index after the string whose opening quote is
// b[i], checking its escapes and that it holds no control bytes; any
// other byte, valid UTF-8 or not, encoding/json accepts.
func stringEnd(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			i++
			if i == len(b) {
				return 0, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return 0, false
				}
				i += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number reads a number in JSON's grammar (which is narrower than
// strconv's: no hex, no underscores, no leading zeros or plus sign) and
// converts it as encoding/json does, with strconv.ParseFloat.
func (d *decoder) number(keep bool) (any, bool) {
	b, i := d.b, d.i
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return nil, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return nil, false
		}
		i = j
	}
	d.i = i
	if !keep {
		return nil, true // a json.RawMessage keeps any number
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil {
		return nil, false // out of range: encoding/json's error, not a value
	}
	return f, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
