package transport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
)

// decodeTaskReference is DecodeTask as it was before the fast path: the
// behaviour DecodeTask must keep for every body.
func decodeTaskReference(b []byte) (actors.Task, error) {
	var env taskEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		if verr := checkVersion(probeVersion(b)); verr != nil {
			return actors.Task{}, fmt.Errorf("transport: decode task: %w", verr)
		}
		return actors.Task{}, fmt.Errorf("%w: decode task: %w", ErrInvalid, err)
	}
	if err := checkVersion(env.V); err != nil {
		return actors.Task{}, fmt.Errorf("transport: decode task %s: %w", env.ID, err)
	}
	if err := validateTask(&env.Task); err != nil {
		return actors.Task{}, fmt.Errorf("transport: decode task: %w", err)
	}
	return env.Task, nil
}

// checkDecodeTaskFast fails t if decodeTaskFast accepts b but json.Unmarshal
// rejects it or decodes another value, or if DecodeTask differs from
// decodeTaskReference in value or error. It decodes a copy of b and then
// overwrites the copy, so that a result sharing memory with the body shows.
// It returns whether the fast path took b.
func checkDecodeTaskFast(t *testing.T, b []byte) bool {
	t.Helper()
	var slow taskEnvelope
	slowErr := json.Unmarshal(b, &slow)

	scratch := bytes.Clone(b)
	fast, ok := decodeTaskFast(scratch)
	for i := range scratch {
		scratch[i] = 'X'
	}
	if ok {
		if slowErr != nil {
			t.Fatalf("fast path accepted a body json.Unmarshal rejects (%v): %q", slowErr, b)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast path decoded %q as\n %#v\njson.Unmarshal as\n %#v", b, fast, slow)
		}
	}

	got, err := DecodeTask(b)
	want, wantErr := decodeTaskReference(b)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("DecodeTask(%q): err = %v, want %v", b, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DecodeTask(%q) =\n %#v\nwant\n %#v", b, got, want)
	}
	return ok
}

// fastTasks are ordinary tasks: their bodies must take the fast path.
func fastTasks() []actors.Task {
	const id = "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10"
	full := benchTask()
	full.AgentID = "security-1"
	full.Priority = actors.PriorityCritical
	minimal := actors.Task{ID: id, Type: "x"}
	unicode := newTask("translate")
	unicode.Name = "traduire « héllo » ✓ 𝄞"
	unicode.Description = "日本語のテキスト"
	unicode.Parameters = json.RawMessage(`{"text":"line\nbreak \"quoted\" {brace}","n":[1.5e3,-0,true,null]}`)
	zoned := newTask("report")
	zoned.CreatedAt = time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("", -(3*3600+30*60)))
	zoned.MaxAttempts = 123456789012
	zoned.Parameters = json.RawMessage(`"just a string"`)
	list := newTask("batch")
	list.Parameters = json.RawMessage(`[{"a":[]},{}]`)
	list.Priority = actors.PriorityLow
	now := newTask("code_analysis")
	now.CreatedAt = time.Now()
	return []actors.Task{full, minimal, unicode, zoned, list, now}
}

func TestDecodeTaskFastTakesEncodeTaskOutput(t *testing.T) {
	t.Parallel()
	for _, task := range fastTasks() {
		b, err := EncodeTask(task)
		if err != nil {
			t.Fatal(err)
		}
		if !checkDecodeTaskFast(t, b) {
			t.Errorf("fast path refused an ordinary body: %s", b)
		}
	}
}

// trickyBody is a task body that needs care, with whether the fast path
// should take it.
type trickyBody struct {
	name string
	body string
	fast bool
}

func trickyBodies() []trickyBody {
	const (
		id   = "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10"
		head = `{"v":1,"id":"` + id + `","task_type":"x"`
		at   = `"created_at":"2025-01-02T03:04:05Z"`
	)
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	return []trickyBody{
		{"plain", head + `,"name":"n","priority":"high",` + at + `}`, true},
		{"whitespace everywhere", " \t\r\n{ \"v\" :\t1 ,\n\"id\"\r:\"" + id + "\" , \"task_type\" : \"x\" ,\"parameters\" : { \"a\" : [ 1 , 2 ] } , \"max_attempts\" : 3 , " + at + " } \n\t", true},
		{"empty object", `{}`, true},
		{"empty object with space", ` { } `, true},
		{"only version", `{"v":1}`, true},
		{"newer version", `{"v":2,"id":"` + id + `","task_type":"x"}`, true},
		{"negative zero version", `{"v":-0,"id":"` + id + `","task_type":"x"}`, true},
		{"negative version", `{"v":-7}`, true},

		{"escaped quote", head + `,"name":"a\"b"}`, false},
		{"escaped unicode", head + `,"name":"\u00e9"}`, false},
		{"escaped slash", head + `,"name":"a\/b"}`, false},
		{"escaped surrogate", head + `,"name":"\ud800"}`, false},
		{"html escapes from json.Marshal", head + `,"description":"\u003cb\u003e \u0026"}`, false},
		{"bad escape", head + `,"name":"\q"}`, false},
		{"raw unicode", head + `,"name":"héllo ✓ 𝄞","description":"` + "\u2028\u2029\ufffd" + `"}`, true},
		{"delete byte", head + `,"name":"a` + "\x7f" + `b"}`, true},
		{"invalid utf-8", head + `,"name":"a` + "\xff" + `b"}`, false},
		{"utf-8 surrogate", head + `,"name":"` + "\xed\xa0\x80" + `"}`, false},
		{"truncated utf-8", head + `,"name":"` + "\xe2\x9c" + `"}`, false},
		{"raw tab in string", head + `,"name":"a` + "\t" + `b"}`, false},
		{"raw newline in string", head + `,"name":"a` + "\n" + `b"}`, false},

		{"unknown key", head + `,"extra":1}`, true},
		{"unknown keys of every type", head + `,"a":"s","b":-1.5e-3,"c":true,"d":false,"e":null,"f":[],"g":{"h":[{"i":"}]"}]}}`, true},
		{"unknown key with escapes", head + `,"extra":"a\"}b\\","more":["\u0041\""]}`, true},
		{"unknown key with invalid value", head + `,"extra":{"a":}}`, false},
		{"unknown key with bad literal", head + `,"extra":tru}`, false},
		{"unknown key with leading zero", head + `,"extra":01}`, false},
		{"unknown key with unclosed string", head + `,"extra":"abc}`, false},
		{"unknown key with unbalanced array", head + `,"extra":[1,2}`, false},
		{"unknown key with control byte", head + `,"extra":"` + "\x01" + `"}`, false},
		{"unknown key with invalid utf-8", head + `,"extra":"` + "\xff" + `"}`, true},
		{"unknown key too deep", head + `,"extra":` + deep + `}`, false},
		{"empty key", head + `,"":1}`, true},
		{"attempt key", head + `,"Attempt":5,"attempt":6,"-":7}`, true},
		{"embedded struct name", head + `,"Task":{"id":"y"}}`, true},
		{"repeated unknown key", head + `,"x":1,"x":2}`, true},

		{"uppercase id key", `{"v":1,"ID":"` + id + `","task_type":"x"}`, false},
		{"mixed case type key", `{"v":1,"id":"` + id + `","Task_Type":"x"}`, false},
		{"uppercase version key", `{"V":1,"id":"` + id + `","task_type":"x"}`, false},
		{"case variant after exact", head + `,"PRIORITY":"low","priority":"high"}`, false},
		{"kelvin sign key", `{"v":1,"id":"` + id + `","tas` + "\u212a" + `_type":"x"}`, false},
		{"long s key", head + `,"de` + "\u017f" + `cription":"d"}`, false},
		{"non-ascii unknown key", head + `,"é":1}`, false},
		{"escaped key", `{"v":1,"id":"` + id + `","task_type":"x","n\u0061me":"n"}`, false},
		{"key with invalid utf-8", head + `,"` + "\xff" + `":1}`, false},

		{"null name", head + `,"name":null}`, false},
		{"null parameters", head + `,"parameters":null}`, false},
		{"null created_at", head + `,"created_at":null}`, false},
		{"null version", `{"v":null,"id":"` + id + `","task_type":"x"}`, false},
		{"null max_attempts", head + `,"max_attempts":null}`, false},
		{"null body", `null`, false},

		{"nested parameters", head + `,"parameters":{"s":"}{][\"","t":["]",{"u":"\\"}],"v":{"w":{"x":[[[]]]}}}}`, true},
		{"array parameters", head + `,"parameters":[1,"two",{"3":[4]}]}`, true},
		{"string parameters", head + `,"parameters":"}{"}`, true},
		{"escaped string parameters", head + `,"parameters":"a\"b\u0000"}`, true},
		{"number parameters", head + `,"parameters":-12.5e+3}`, true},
		{"bool parameters", head + `,"parameters":false}`, true},
		{"empty object parameters", head + `,"parameters":{}}`, true},
		{"spaced parameters", head + `,"parameters": {  "a" :	1 } }`, true},
		{"parameters with trailing comma", head + `,"parameters":{"a":1,}}`, false},
		{"parameters mismatched brackets", head + `,"parameters":{"a":[1}]}`, false},
		{"parameters unclosed", head + `,"parameters":{"a":"}"`, false},
		{"parameters bad number", head + `,"parameters":1.}`, false},
		{"parameters bad literal", head + `,"parameters":nul}`, false},
		{"parameters control byte", head + `,"parameters":{"a":"` + "\x00" + `"}}`, false},
		{"parameters too deep", head + `,"parameters":` + deep + `}`, false},

		{"repeated name", head + `,"name":"a","name":"b"}`, false},
		{"repeated parameters", head + `,"parameters":{"a":1},"parameters":[2]}`, false},
		{"repeated version", `{"v":2,"v":1,"id":"` + id + `","task_type":"x"}`, false},
		{"repeated created_at", head + `,"created_at":"bad",` + at + `}`, false},

		{"max int attempts", head + `,"max_attempts":9223372036854775807}`, false},
		{"overflowing attempts", head + `,"max_attempts":99999999999999999999}`, false},
		{"18 digit attempts", head + `,"max_attempts":123456789012345678}`, true},
		{"negative attempts", head + `,"max_attempts":-3}`, true},
		{"fraction version", `{"v":1.0,"id":"` + id + `","task_type":"x"}`, false},
		{"exponent version", `{"v":1e0,"id":"` + id + `","task_type":"x"}`, false},
		{"leading zero version", `{"v":01,"id":"` + id + `","task_type":"x"}`, false},
		{"plus version", `{"v":+1,"id":"` + id + `","task_type":"x"}`, false},
		{"bare minus version", `{"v":-,"id":"` + id + `","task_type":"x"}`, false},
		{"string version", `{"v":"1","id":"` + id + `","task_type":"x"}`, false},
		{"huge negative version", `{"v":-99999999999999999999}`, false},

		{"number id", `{"v":1,"id":5,"task_type":"x"}`, false},
		{"bool priority", head + `,"priority":true}`, false},
		{"object name", head + `,"name":{}}`, false},
		{"array type", `{"v":1,"id":"` + id + `","task_type":["x"]}`, false},
		{"number created_at", head + `,"created_at":5}`, false},
		{"bad created_at", head + `,"created_at":"2025-13-02T03:04:05Z"}`, false},
		{"created_at without zone", head + `,"created_at":"2025-01-02T03:04:05"}`, false},
		{"created_at with offset", head + `,"created_at":"2025-01-02T03:04:05.123456789+02:00"}`, true},
		{"created_at far year", head + `,"created_at":"9999-12-31T23:59:59.999999999-23:59"}`, true},
		{"created_at lowercase", head + `,"created_at":"2025-01-02t03:04:05z"}`, false},
		{"created_at escaped", head + `,"created_at":"2025-01-02T03:04:05\u005a"}`, false},

		{"trailing garbage", head + `}x`, false},
		{"trailing object", head + `}{}`, false},
		{"trailing nul", head + "}\x00", false},
		{"trailing whitespace", head + "} \n\r\t", true},
		{"trailing comma", head + `,}`, false},
		{"missing comma", head + ` "name":"n"}`, false},
		{"missing colon", head + `,"name" "n"}`, false},
		{"missing value", head + `,"name":}`, false},
		{"unclosed object", head, false},
		{"unclosed after comma", head + `,`, false},
		{"semicolon", head + `;"name":"n"}`, false},
		{"byte order mark", "\ufeff" + head + `}`, false},
		{"top-level array", `[` + head + `}]`, false},
		{"top-level string", `"task"`, false},
		{"empty body", ``, false},
		{"only space", ` `, false},
		{"not json", `task please`, false},
	}
}

func TestDecodeTaskFastMatchesUnmarshal(t *testing.T) {
	t.Parallel()
	for _, tc := range trickyBodies() {
		t.Run(tc.name, func(t *testing.T) {
			if fast := checkDecodeTaskFast(t, []byte(tc.body)); fast != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// FuzzDecodeTask checks decodeTaskFast against json.Unmarshal, and
// DecodeTask against its behaviour before the fast path.
func FuzzDecodeTask(f *testing.F) {
	for _, task := range fastTasks() {
		b, err := EncodeTask(task)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tc := range trickyBodies() {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeTaskFast(t, b)

		// What EncodeTask writes must take the fast path unless it had to
		// escape a string, the attempts are too long for the fast path or
		// the parameters are null (json.Unmarshal keeps "null" for them).
		task, err := DecodeTask(b)
		n := int64(task.MaxAttempts)
		if err != nil || n > 999_999_999_999_999_999 || n < -999_999_999_999_999_999 || string(task.Parameters) == "null" {
			return
		}
		enc, err := EncodeTask(task)
		if err != nil {
			t.Fatalf("EncodeTask of a decoded task: %v", err)
		}
		if fast := checkDecodeTaskFast(t, enc); !fast && !bytes.Contains(enc, []byte(`\`)) {
			t.Fatalf("fast path refused EncodeTask output %s", enc)
		}
	})
}

// checkEventStatus fails unless eventStatus reads b as DecodeEvent does:
// the same status, and an error exactly when DecodeEvent has one. It
// reports whether the fast path took b.
func checkEventStatus(t *testing.T, b []byte) bool {
	t.Helper()
	ev, wantErr := DecodeEvent(b)
	status, err := eventStatus(b)
	if (err != nil) != (wantErr != nil) || (err == nil && status != ev.Status) {
		t.Fatalf("eventStatus(%q) = %q, %v; DecodeEvent: status %q, error %v", b, status, err, ev.Status, wantErr)
	}
	_, _, fast := eventStatusFast(b)
	return fast
}

// TestEventStatusMatchesDecodeEvent: eventStatus reads what EncodeEvent
// writes on its fast path, and leaves to DecodeEvent what it is unsure of,
// with the same answer either way.
func TestEventStatusMatchesDecodeEvent(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	for _, ev := range []Event{
		{V: ProtocolVersion, Type: EventTaskCompleted, TaskID: "0198a6f2-0000-7000-8000-00000000000a", UserID: "u", Status: "completed", Time: at},
		{V: ProtocolVersion, Type: "task.queued", TaskID: "0198a6f2-0000-7000-8000-00000000000a", Status: "queued", Time: at, Data: json.RawMessage(`{"status":"completed"}`)},
		{V: ProtocolVersion, Type: "agent.online", AgentID: "a1", Time: at},
	} {
		b, err := encodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !checkEventStatus(t, b) {
			t.Errorf("fast path refused EncodeEvent output %s", b)
		}
	}
	for _, tc := range []struct {
		body string
		fast bool
	}{
		{`{"v":1,"status":"failed","time":"2026-11-26T12:00:00Z"}`, true},
		{`{"v":1,"data":{"status":"completed"},"time":"2026-11-26T12:00:00Z"}`, true},
		{` { "v" : 1 , "status" : "failed" , "extra" : [1, {"a": null}] } `, true},
		{`{"v":99,"status":"completed","time":"2026-11-26T12:00:00Z"}`, true}, // refused by version
		{`{"v":1,"Status":"completed"}`, false},                               // case-folded key
		{`{"v":1,"status":"completed","status":"failed"}`, false},             // repeated key
		{`{"v":1,"status":"compl\u0065ted"}`, false},                          // escape
		{`{"v":1,"status":null}`, false},
		{`{"v":1.0,"status":"completed"}`, false},
		{`{"v":1,"status":"completed","time":"yesterday"}`, false},
		{`{"v":1,"status":"completed","data":{"a":}}`, false},
		{`{"v":1,"status":"completed"} x`, false},
		{`{"v":1,"status":"completed",}`, false},
		{``, false},
		{`[]`, false},
	} {
		if fast := checkEventStatus(t, []byte(tc.body)); fast != tc.fast {
			t.Errorf("%s: fast path taken: %v, want %v", tc.body, fast, tc.fast)
		}
	}
}

// FuzzEventStatus checks eventStatus against DecodeEvent.
func FuzzEventStatus(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"task.completed","task_id":"0198a6f2-0000-7000-8000-00000000000a","status":"completed","time":"2026-11-26T12:00:00Z"}`))
	f.Add([]byte(`{"v":1,"status":"failed","data":{"status":"x","n":[1,2,{"k":"v"}]}}`))
	f.Add([]byte(`{"V":2,"STATUS":"queued"}`))
	f.Fuzz(func(t *testing.T, b []byte) { checkEventStatus(t, b) })
}
