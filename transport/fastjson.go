package transport

// Hand-written JSON for the bodies every task passes through: EncodeTask
// once per task submitted, DecodeTask once per delivery, an event body
// several times per task. Each function here takes only the inputs it is
// sure about and reports false for the rest, and the caller then uses
// encoding/json, so values, bodies and errors stay exactly encoding/json's;
// the tests compare the two on tables and under fuzzing
// (envelope_fast_test.go, envelope_encode_test.go). Together they took
// 5-8 % of the process's CPU in a PostgreSQL bench; here, about a fifth of
// that.

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/internal/jsonfast"
)

// Keys of a task body, in the order EncodeTask writes them. decodeTaskFast
// uses the index as a bit in its set of keys already seen.
var taskKeys = [...]string{
	"v", "id", "name", "description", "task_type", "parameters",
	"priority", "user_id", "agent_id", "max_attempts", "created_at",
}

// The string fields of a task, as indexes into decodeTaskFast's spans.
const (
	strID = iota
	strName
	strDescription
	strType
	strPriority
	strUserID
	strAgentID
	numTaskStrings
)

// decodeTaskFast decodes a body the way json.Unmarshal into a taskEnvelope
// would, without reflection and with two allocations instead of fifteen:
// decoding runs once per delivery and showed up in profiles. It only takes
// bodies it is sure about and reports false for anything else (escapes,
// invalid UTF-8, null, keys that match a field only case-insensitively,
// repeated fields, numbers that are not small integers, wrong types, bad
// JSON), so that DecodeTask falls back to json.Unmarshal and keeps its
// values and errors exactly.
func decodeTaskFast(b []byte) (taskEnvelope, bool) {
	var (
		env    taskEnvelope
		spans  [numTaskStrings][2]int // start and end in b of each string field
		params [2]int                 // start and end in b of "parameters"
		seen   uint16                 // bit k set once taskKeys[k] is read
	)
	whole := jsonfast.WalkObject(b, func(key []byte, i int) (int, bool) {
		ok := true
		k, str := -1, -1
		switch string(key) {
		case "v":
			k = 0
			env.V, i, ok = scanInt(b, i)
		case "id":
			k, str = 1, strID
		case "name":
			k, str = 2, strName
		case "description":
			k, str = 3, strDescription
		case "task_type":
			k, str = 4, strType
		case "parameters":
			k = 5
			// Any JSON value but null is kept verbatim, as
			// json.RawMessage does; null would make it "null".
			params[0] = i
			params[1], ok = jsonfast.SkipValue(b, i)
			ok = ok && b[i] != 'n' && json.Valid(b[params[0]:params[1]])
			i = params[1]
		case "priority":
			k, str = 6, strPriority
		case "user_id":
			k, str = 7, strUserID
		case "agent_id":
			k, str = 8, strAgentID
		case "max_attempts":
			k = 9
			env.MaxAttempts, i, ok = scanInt(b, i)
		case "created_at":
			k = 10
			i, ok = scanTime(b, i, &env.CreatedAt)
		default:
			// encoding/json matches keys case-insensitively, with
			// Unicode folding for non-ASCII ones; leave those to it.
			if foldsToKey(key, taskKeys[:]) {
				return 0, false
			}
			i, ok = skipValid(b, i)
		}
		if str >= 0 {
			var s, e int
			s, e, ok = jsonfast.ScanPlainString(b, i)
			spans[str] = [2]int{s, e}
			i = e + 1
		}
		if !ok || !firstTime(&seen, k) {
			return 0, false
		}
		return i, true
	})
	if !whole {
		return env, false
	}

	// One string holds every string field, so they cost one allocation
	// between them; they are small and usually kept together.
	n := 0
	for _, sp := range spans {
		n += sp[1] - sp[0]
	}
	if n > 0 {
		var sb strings.Builder
		sb.Grow(n)
		for _, sp := range spans {
			sb.Write(b[sp[0]:sp[1]])
		}
		all := sb.String()
		field := func(f int) string {
			s := all[:spans[f][1]-spans[f][0]]
			all = all[len(s):]
			return s
		}
		env.ID = field(strID)
		env.Name = field(strName)
		env.Description = field(strDescription)
		env.Type = field(strType)
		env.Priority = actors.Priority(field(strPriority))
		env.UserID = field(strUserID)
		env.AgentID = field(strAgentID)
	}
	if seen&(1<<5) != 0 {
		// A copy, as json.RawMessage makes: b belongs to the caller.
		env.Parameters = append(json.RawMessage(nil), b[params[0]:params[1]]...)
	}
	return env, true
}

// skipValid returns the end of the valid JSON value that starts at b[i],
// or false if it is not one: the value of a member the caller ignores,
// which json.Unmarshal still checks.
func skipValid(b []byte, i int) (int, bool) {
	end, ok := jsonfast.SkipValue(b, i)
	if !ok {
		return 0, false
	}
	return end, json.Valid(b[i:end])
}

// firstTime marks the known key k (-1 for none) as read in seen and reports
// whether it was not before: a repeated key is left to json.Unmarshal,
// which keeps the last value.
func firstTime(seen *uint16, k int) bool {
	if k < 0 {
		return true
	}
	if *seen&(1<<k) != 0 {
		return false
	}
	*seen |= 1 << k
	return true
}

// scanTime reads the time whose opening quote is b[i] into t, with the
// method json.Unmarshal calls on the same quoted bytes, and returns the
// index after it.
func scanTime(b []byte, i int, t *time.Time) (int, bool) {
	s, e, ok := jsonfast.ScanPlainString(b, i)
	if !ok || t.UnmarshalJSON(b[s-1:e+1]) != nil {
		return 0, false
	}
	return e + 1, true
}

// scanInt reads an integer at b[i] and returns it with the index after it.
// It takes only what surely fits an int, without fraction or exponent; a
// '.' or 'e' left behind makes the caller give up at the next separator.
func scanInt(b []byte, i int) (int, int, bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	digits := b[start:i]
	// 18 digits always fit an int64; a leading zero is invalid JSON.
	if len(digits) == 0 || len(digits) > 18 || (digits[0] == '0' && len(digits) > 1) {
		return 0, 0, false
	}
	var n int64
	for _, c := range digits {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if int64(int(n)) != n {
		return 0, 0, false
	}
	return int(n), i, true
}

// foldsToKey reports whether encoding/json might match key to one of keys
// (a struct's JSON names, all lower-case ASCII) although it is none of them
// exactly. Non-ASCII keys count, as Unicode folding maps some of them to
// ASCII letters (the Kelvin sign to k).
func foldsToKey(key []byte, keys []string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
next:
	for _, name := range keys {
		if len(name) != len(key) {
			continue
		}
		for j, c := range key {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != name[j] {
				continue next
			}
		}
		return true
	}
	return false
}

// taskBodyFrame is a task body with every field present and empty: its
// length plus that of the values bounds what appendTaskFast writes.
const taskBodyFrame = `{"v":,"id":"","name":"","description":"","task_type":"",` +
	`"parameters":,"priority":"","user_id":"","agent_id":"","max_attempts":,"created_at":""}`

// appendTaskFast appends to dst the body json.Marshal writes for env, without
// reflection and in one allocation instead of three: encoding runs once per
// task submitted. It reports false for a task whose body it cannot copy
// as it is (see plainString, plainRaw and jsonfast.AppendTime), so that EncodeTask
// falls back to json.Marshal and keeps its output and errors exactly.
func appendTaskFast(dst []byte, env taskEnvelope) ([]byte, bool) {
	t := &env.Task
	if !plainString(t.ID) || !plainString(t.Name) || !plainString(t.Description) ||
		!plainString(t.Type) || !plainString(string(t.Priority)) ||
		!plainString(t.UserID) || !plainString(t.AgentID) ||
		(len(t.Parameters) > 0 && !plainRaw(t.Parameters)) {
		return dst, false
	}
	dst = growBody(dst, len(taskBodyFrame)+2*maxIntLen+jsonfast.MaxTimeLen+
		len(t.ID)+len(t.Name)+len(t.Description)+len(t.Type)+len(t.Parameters)+
		len(t.Priority)+len(t.UserID)+len(t.AgentID))

	// Field order and omitempty as in the struct tags.
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(env.V), 10)
	dst = appendStringField(dst, `,"id":"`, t.ID)
	dst = appendStringField(dst, `,"name":"`, t.Name)
	if t.Description != "" {
		dst = appendStringField(dst, `,"description":"`, t.Description)
	}
	dst = appendStringField(dst, `,"task_type":"`, t.Type)
	if len(t.Parameters) > 0 {
		dst = append(dst, `,"parameters":`...)
		dst = append(dst, t.Parameters...)
	}
	dst = appendStringField(dst, `,"priority":"`, string(t.Priority))
	if t.UserID != "" {
		dst = appendStringField(dst, `,"user_id":"`, t.UserID)
	}
	if t.AgentID != "" {
		dst = appendStringField(dst, `,"agent_id":"`, t.AgentID)
	}
	if t.MaxAttempts != 0 {
		dst = append(dst, `,"max_attempts":`...)
		dst = strconv.AppendInt(dst, int64(t.MaxAttempts), 10)
	}
	dst = append(dst, `,"created_at":`...)
	dst, ok := jsonfast.AppendTime(dst, t.CreatedAt)
	if !ok {
		return dst, false
	}
	return append(dst, '}'), true
}

// maxIntLen is the length of the longest int, "-9223372036854775808".
const maxIntLen = 20

// growBody returns dst with room for n more bytes. Unlike slices.Grow it
// takes a single allocation under the race detector too, so that the
// allocation test holds there.
func growBody(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	return append(make([]byte, 0, len(dst)+n), dst...)
}

// appendStringField appends key, which ends in the opening quote, then s
// and the closing quote. s must be plain (see plainString).
func appendStringField(dst []byte, key, s string) []byte {
	dst = append(dst, key...)
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainString reports whether json.Marshal writes s between its quotes as
// it is. It does not for ASCII controls, the quote, the backslash and, as
// it escapes HTML, < > and &; nor for U+2028 and U+2029, which it escapes
// for JavaScript, nor for invalid UTF-8, which it replaces with U+FFFD.
func plainString(s string) bool {
	i := 0
	for i < len(s) && marshalPlain[s[i]] {
		i++
	}
	for i < len(s) {
		// Rarely here: non-ASCII text, or a byte json.Marshal escapes.
		if c := s[i]; c < utf8.RuneSelf {
			if !marshalPlain[c] {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// marshalPlain marks the ASCII bytes json.Marshal copies into a string as
// they are: jsonfast.PlainASCII without the three it escapes for HTML.
var marshalPlain = func() (t [256]bool) {
	t = jsonfast.PlainASCII
	t['<'], t['>'], t['&'] = false, false, false
	return t
}()

// plainRaw reports whether json.Marshal writes the json.RawMessage m as it
// is. Marshal validates m and compacts it, and for HTML escapes < > & and
// U+2028/U+2029 anywhere in it. So m must be valid JSON without whitespace
// outside its strings and without those characters.
func plainRaw(m []byte) bool {
	inString, escaped := false, false
	for i := 0; i < len(m); i++ {
		switch c := m[i]; {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && i+2 < len(m) && m[i+1] == 0x80 && (m[i+2] == 0xA8 || m[i+2] == 0xA9):
			return false
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return json.Valid(m)
}

// eventBodyFrame is an event body with every field present and empty: its
// length plus that of the values bounds what appendEventFast writes.
const eventBodyFrame = `{"v":,"type":"","task_id":"","agent_id":"","user_id":"",` +
	`"project_id":"","status":"","time":"","data":}`

// appendEventFast appends to dst the body json.Marshal writes for ev,
// without reflection and in one allocation instead of three: a task
// publishes several events. Like appendTaskFast it reports false for an
// event it cannot copy as it is, and the caller falls back to json.Marshal.
func appendEventFast(dst []byte, ev Event) ([]byte, bool) {
	if !plainString(ev.Type) || !plainString(ev.TaskID) || !plainString(ev.AgentID) ||
		!plainString(ev.UserID) || !plainString(ev.ProjectID) || !plainString(ev.Status) ||
		(len(ev.Data) > 0 && !plainRaw(ev.Data)) {
		return dst, false
	}
	dst = growBody(dst, len(eventBodyFrame)+maxIntLen+jsonfast.MaxTimeLen+
		len(ev.Type)+len(ev.TaskID)+len(ev.AgentID)+len(ev.UserID)+
		len(ev.ProjectID)+len(ev.Status)+len(ev.Data))

	// Field order and omitempty as in the struct tags.
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, int64(ev.V), 10)
	dst = appendStringField(dst, `,"type":"`, ev.Type)
	if ev.TaskID != "" {
		dst = appendStringField(dst, `,"task_id":"`, ev.TaskID)
	}
	if ev.AgentID != "" {
		dst = appendStringField(dst, `,"agent_id":"`, ev.AgentID)
	}
	if ev.UserID != "" {
		dst = appendStringField(dst, `,"user_id":"`, ev.UserID)
	}
	if ev.ProjectID != "" {
		dst = appendStringField(dst, `,"project_id":"`, ev.ProjectID)
	}
	if ev.Status != "" {
		dst = appendStringField(dst, `,"status":"`, ev.Status)
	}
	dst = append(dst, `,"time":`...)
	dst, ok := jsonfast.AppendTime(dst, ev.Time)
	if !ok {
		return dst, false
	}
	if len(ev.Data) > 0 {
		dst = append(dst, `,"data":`...)
		dst = append(dst, ev.Data...)
	}
	return append(dst, '}'), true
}

// eventKeys are the JSON names of Event's fields, in the order the fast
// path of EncodeEvent writes them (appendEventFast).
var eventKeys = [...]string{"v", "type", "task_id", "agent_id", "user_id", "project_id", "status", "time", "data"}

// eventStatusFast reads the version and the status of an event body as
// DecodeEvent would, without building the Event: a gateway watching task
// ends reads two events per task and needs only those. Like
// decodeTaskFast it reports false for anything it is unsure of, and the
// caller then uses DecodeEvent.
func eventStatusFast(b []byte) (v int, status string, ok bool) {
	var (
		seen   uint16
		st     [2]int // start and end in b of the status
		stated bool
	)
	ok = jsonfast.WalkObject(b, func(key []byte, i int) (int, bool) {
		k := slices.Index(eventKeys[:], string(key))
		ok := true
		switch k {
		case 0: // v
			v, i, ok = scanInt(b, i)
		case 7: // time, checked as json.Unmarshal would
			var t time.Time
			i, ok = scanTime(b, i, &t)
		case 8: // data, any JSON value
			i, ok = skipValid(b, i)
		case -1:
			if foldsToKey(key, eventKeys[:]) {
				return 0, false
			}
			i, ok = skipValid(b, i)
		default: // the string fields
			var s, e int
			s, e, ok = jsonfast.ScanPlainString(b, i)
			if k == 6 {
				st, stated = [2]int{s, e}, true
			}
			i = e + 1
		}
		if !ok || !firstTime(&seen, k) {
			return 0, false
		}
		return i, true
	})
	if !ok {
		return 0, "", false
	}
	if stated {
		status = string(b[st[0]:st[1]])
	}
	return v, status, true
}
