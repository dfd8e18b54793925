package transport

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ymera/ymera/actors"
)

// ProtocolVersion is the major version of the message bodies this build
// writes and reads. Every body is a JSON object carrying it as "v". Fields
// are added without changing it (readers ignore fields they do not know); a
// change that old readers would misread takes a new major version, and a
// reader refuses versions it does not know with ErrUnsupportedVersion.
const ProtocolVersion = 1

// taskEnvelope is the wire form of a task: the task's own JSON fields with
// "v" first. Embedding promotes the fields, so the body stays flat and any
// NATS client can write it by hand.
type taskEnvelope struct {
	V int `json:"v"`
	actors.Task
}

// EncodeTask returns the wire body of t. It validates what the subject and
// the message id are built from: the task id (a lowercase UUID), the task
// type (a token) and the priority (empty means normal, and is written so).
func EncodeTask(t actors.Task) ([]byte, error) {
	if err := validateTask(&t); err != nil {
		return nil, err
	}
	b, err := json.Marshal(taskEnvelope{V: ProtocolVersion, Task: t})
	if err != nil {
		return nil, fmt.Errorf("%w: encode task %s: %w", ErrInvalid, t.ID, err)
	}
	return b, nil
}

// DecodeTask parses a wire body into a task and validates it as EncodeTask
// does. A body of another major version fails with ErrUnsupportedVersion,
// any other malformed body with ErrInvalid. Attempt is left zero: it comes
// from the delivery, not the body (see TaskDelivery.Task).
func DecodeTask(b []byte) (actors.Task, error) {
	env, ok := decodeTaskFast(b)
	if !ok {
		// A variable of its own, so that only this path moves it to the heap.
		var slow taskEnvelope
		if err := json.Unmarshal(b, &slow); err != nil {
			if verr := checkVersion(probeVersion(b)); verr != nil {
				return actors.Task{}, fmt.Errorf("transport: decode task: %w", verr)
			}
			return actors.Task{}, fmt.Errorf("%w: decode task: %w", ErrInvalid, err)
		}
		env = slow
	}
	if err := checkVersion(env.V); err != nil {
		return actors.Task{}, fmt.Errorf("transport: decode task %s: %w", env.ID, err)
	}
	if err := validateTask(&env.Task); err != nil {
		return actors.Task{}, fmt.Errorf("transport: decode task: %w", err)
	}
	return env.Task, nil
}

// validateTask checks the fields the transport relies on and normalises the
// priority.
func validateTask(t *actors.Task) error {
	if err := checkTaskID(t.ID); err != nil {
		return err
	}
	if err := checkTaskType(t.Type); err != nil {
		return err
	}
	p, err := actors.ParsePriority(string(t.Priority))
	if err != nil {
		return fmt.Errorf("%w: task %s: %w", ErrInvalid, t.ID, err)
	}
	t.Priority = p
	return nil
}

// checkVersion accepts the major version this build speaks.
func checkVersion(v int) error {
	switch v {
	case ProtocolVersion:
		return nil
	case 0:
		return fmt.Errorf("%w: body has no \"v\" field (this build reads version %d)", ErrInvalid, ProtocolVersion)
	}
	return fmt.Errorf("%w %d (this build reads version %d)", ErrUnsupportedVersion, v, ProtocolVersion)
}

// probeVersion reads only "v", for a clear error when a body of another
// version does not even parse as this version's schema. It returns 1 when
// "v" cannot be read either, so that the parse error is reported instead.
func probeVersion(b []byte) int {
	var p struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return ProtocolVersion
	}
	return p.V
}

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
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return env, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			ks, ke, ok := scanPlainString(b, i)
			if !ok {
				return env, false
			}
			key := b[ks:ke]
			i = skipSpace(b, ke+1)
			if i == len(b) || b[i] != ':' {
				return env, false
			}
			i = skipSpace(b, i+1)
			if i == len(b) {
				return env, false
			}
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
				params[1], ok = skipValue(b, i)
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
				var s, e int
				if s, e, ok = scanPlainString(b, i); ok {
					// The same method json.Unmarshal calls, on the same
					// quoted bytes.
					ok = env.CreatedAt.UnmarshalJSON(b[s-1:e+1]) == nil
					i = e + 1
				}
			default:
				// encoding/json matches keys case-insensitively, with
				// Unicode folding for non-ASCII ones; leave those to it.
				if foldsToTaskKey(key) {
					return env, false
				}
				start := i
				i, ok = skipValue(b, i)
				ok = ok && json.Valid(b[start:i])
			}
			if str >= 0 {
				var s, e int
				s, e, ok = scanPlainString(b, i)
				spans[str] = [2]int{s, e}
				i = e + 1
			}
			if !ok {
				return env, false
			}
			if k >= 0 {
				if seen&(1<<k) != 0 {
					return env, false
				}
				seen |= 1 << k
			}
			i = skipSpace(b, i)
			if i == len(b) {
				return env, false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return env, false
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
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

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanPlainString reads the string whose opening quote is b[i] and returns
// the bounds of its contents. It refuses what json.Unmarshal would rewrite
// or reject: escapes, control bytes and invalid UTF-8.
func scanPlainString(b []byte, i int) (start, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	start = i + 1
	end = start
	for end < len(b) && plainASCII[b[end]] {
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

// plainASCII marks the bytes a JSON string holds as they are: ASCII other
// than controls, the quote and the backslash. A table keeps the common loop
// to one test per byte.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

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

// skipValue returns the end of the JSON value that starts at b[i], matching
// only quotes and brackets. It does not check the value: callers pass the
// extent to json.Valid.
func skipValue(b []byte, i int) (int, bool) {
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

// foldsToTaskKey reports whether encoding/json might match key to a task
// field although it is none of taskKeys exactly. Non-ASCII keys count, as
// Unicode folding maps some of them to ASCII letters (the Kelvin sign to k).
func foldsToTaskKey(key []byte) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
next:
	for _, name := range taskKeys {
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
