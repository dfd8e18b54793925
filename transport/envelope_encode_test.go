package transport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
)

// encodeTaskReference is EncodeTask as it was before the fast path: the
// output and errors EncodeTask must keep.
func encodeTaskReference(task actors.Task) ([]byte, error) {
	if err := validateTask(&task); err != nil {
		return nil, err
	}
	b, err := json.Marshal(taskEnvelope{V: ProtocolVersion, Task: task})
	if err != nil {
		return nil, fmt.Errorf("%w: encode task %s: %w", ErrInvalid, task.ID, err)
	}
	return b, nil
}

// encodeEventReference is encodeEvent as it was before the fast path.
func encodeEventReference(ev Event) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("%w: encode event %s: %w", ErrInvalid, ev.Type, err)
	}
	return b, nil
}

// appendPrefix is what the tests give the appenders to append to: they
// must keep it and write after it.
const appendPrefix = "prefix:"

// checkAppended fails t if an appender took v (ok) but wrote anything
// other than appendPrefix and what json.Marshal writes for v, or took a
// v that json.Marshal refuses. It returns ok.
func checkAppended(t *testing.T, v any, got []byte, ok bool) bool {
	t.Helper()
	if !ok {
		return false
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("fast path took %#v, which json.Marshal refuses: %v", v, err)
	}
	if !bytes.HasPrefix(got, []byte(appendPrefix)) {
		t.Fatalf("fast path lost what it appended to: %q", got)
	}
	if got = got[len(appendPrefix):]; !bytes.Equal(got, want) {
		t.Fatalf("fast path wrote\n %s\njson.Marshal\n %s", got, want)
	}
	return true
}

// checkAppendTask checks appendTaskFast on env and returns whether it took
// it.
func checkAppendTask(t *testing.T, env taskEnvelope) bool {
	t.Helper()
	got, ok := appendTaskFast([]byte(appendPrefix), env)
	return checkAppended(t, env, got, ok)
}

// checkAppendEvent checks appendEventFast on ev and returns whether it
// took it.
func checkAppendEvent(t *testing.T, ev Event) bool {
	t.Helper()
	got, ok := appendEventFast([]byte(appendPrefix), ev)
	return checkAppended(t, ev, got, ok)
}

// checkEncodeTask fails t if EncodeTask differs from encodeTaskReference
// in output or error, and returns whether EncodeTask took the fast path.
func checkEncodeTask(t *testing.T, task actors.Task) bool {
	t.Helper()
	got, err := EncodeTask(task)
	want, wantErr := encodeTaskReference(task)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("EncodeTask(%#v): err = %v, want %v", task, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeTask wrote\n %s\nwant\n %s", got, want)
	}
	if validateTask(&task) != nil {
		return false
	}
	return checkAppendTask(t, taskEnvelope{V: ProtocolVersion, Task: task})
}

// checkEncodeEvent is checkEncodeTask for encodeEvent, which is what
// PublishEvent sends.
func checkEncodeEvent(t *testing.T, ev Event) bool {
	t.Helper()
	got, err := encodeEvent(ev)
	want, wantErr := encodeEventReference(ev)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("encodeEvent(%#v): err = %v, want %v", ev, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeEvent wrote\n %s\nwant\n %s", got, want)
	}
	return checkAppendEvent(t, ev)
}

// encodeText is a string value, with whether the fast path copies it.
type encodeText struct {
	name string
	s    string
	fast bool
}

func encodeTexts() []encodeText {
	var printable []byte
	for c := byte(0x20); c <= 0x7f; c++ {
		if !strings.ContainsRune(`"\<>&`, rune(c)) {
			printable = append(printable, c)
		}
	}
	return []encodeText{
		{"empty", "", true},
		{"plain", "analyze repository", true},
		{"every plain ascii byte", string(printable), true},
		{"delete byte", "a\x7fb", true},
		{"non-ascii", "héllo « ✓ » 日本語 𝄞", true},
		{"replacement character", "\ufffd", true},
		{"next to line separator", "\u2027\u202a", true},
		{"long", strings.Repeat("abcdefgh", 1000), true},

		{"html", "<b>Tom & Jerry</b>", false},
		{"less than", "a<b", false},
		{"greater than", "a>b", false},
		{"ampersand", "a&b", false},
		{"quote", `say "hi"`, false},
		{"backslash", `C:\dir`, false},
		{"nul", "a\x00b", false},
		{"unit separator", "\x1f", false},
		{"tab", "a\tb", false},
		{"newline", "a\nb", false},
		{"carriage return", "a\rb", false},
		{"backspace", "\b", false},
		{"form feed", "\f", false},
		{"line separator", "a\u2028b", false},
		{"paragraph separator", "a\u2029b", false},
		{"invalid utf-8", "a\xffb", false},
		{"truncated utf-8", "a\xe2\x80", false},
		{"truncated line separator", "\xe2\x80", false},
		{"utf-8 surrogate", "\xed\xa0\x80", false},
		{"overlong utf-8", "\xc0\xaf", false},
		{"lone continuation byte", "\x80", false},
		{"plain then html", strings.Repeat("x", 100) + "<", false},
		{"non-ascii then control", "é\x01", false},
	}
}

// encodeRaw is a json.RawMessage value, with whether the fast path copies
// it. json.Marshal may fail on those it does not.
type encodeRaw struct {
	name string
	m    json.RawMessage
	fast bool
}

func encodeRaws() []encodeRaw {
	nest := func(n int) json.RawMessage {
		return json.RawMessage(strings.Repeat(`[{"a":`, n/2) + strings.Repeat("[", n%2) + "1" +
			strings.Repeat("]", n%2) + strings.Repeat("}]", n/2))
	}
	return []encodeRaw{
		{"nil", nil, true},
		{"empty", json.RawMessage{}, true},
		{"null", json.RawMessage(`null`), true},
		{"true", json.RawMessage(`true`), true},
		{"false", json.RawMessage(`false`), true},
		{"string", json.RawMessage(`"s"`), true},
		{"zero", json.RawMessage(`0`), true},
		{"numbers", json.RawMessage(`[-0,1.5e+10,1E-3,0.0,-12,7e0,123456789012345678901234567890]`), true},
		{"object", json.RawMessage(`{"repository":"https://example.com/r.git","checks":["lint","vet"]}`), true},
		{"nested", json.RawMessage(`{"a":[1,{"b":null}],"c":{},"d":[],"e":[[]],"f":{"g":{}}}`), true},
		{"space in string", json.RawMessage(`{"a":"b c"}`), true},
		{"escapes", json.RawMessage(`{"a":"x\"}\\ \/\b\f\n\r\t\u00e9\uD834\uDD1E"}`), true},
		{"escaped html", json.RawMessage(`{"a":"\u003cb\u003e \u0026"}`), true},
		{"escaped line separator", json.RawMessage(`"\u2028"`), true},
		{"non-ascii", json.RawMessage(`{"é":"✓ 𝄞"}`), true},
		{"invalid utf-8 in string", json.RawMessage("\"\xff\""), true},
		{"delete byte in string", json.RawMessage("\"\x7f\""), true},
		{"brackets in strings", json.RawMessage(`{"}":"]","[":["{"]}`), true},
		{"depth 64", nest(64), true},
		{"depth 10000", nest(10000), true},
		{"depth 10001", nest(10001), false}, // beyond what encoding/json accepts
		{"space after colon", json.RawMessage(`{"a": 1}`), false},
		{"leading space", json.RawMessage(` {}`), false},
		{"trailing space", json.RawMessage(`{} `), false},
		{"trailing newline", json.RawMessage("{}\n"), false},
		{"tab between elements", json.RawMessage("[1,\t2]"), false},
		{"space in empty object", json.RawMessage(`{ }`), false},
		{"space in empty array", json.RawMessage(`[ ]`), false},
		{"space before colon", json.RawMessage(`{"a" :1}`), false},
		{"space before key", json.RawMessage(`{ "a":1}`), false},
		{"space before comma", json.RawMessage(`[1 ,2]`), false},
		{"space before close", json.RawMessage(`{"a":1 }`), false},
		{"space for comma in array", json.RawMessage(`[1 2]`), false},
		{"space for comma in object", json.RawMessage(`{"a":1 "b":2}`), false},
		{"newline for comma", json.RawMessage("[1\n2]"), false},
		{"html in string", json.RawMessage(`{"a":"<b>"}`), false},
		{"ampersand in key", json.RawMessage(`{"&":1}`), false},
		{"less than in string", json.RawMessage(`"a<b"`), false},
		{"greater than in string", json.RawMessage(`">"`), false},
		{"ampersand in string", json.RawMessage(`["&"]`), false},
		{"less than outside strings", json.RawMessage(`<`), false},
		{"line separator in string", json.RawMessage("\"\u2028\""), false},
		{"paragraph separator in key", json.RawMessage("{\"\u2029\":1}"), false},
		{"unclosed object", json.RawMessage(`{`), false},
		{"unclosed array", json.RawMessage(`[1`), false},
		{"unclosed string", json.RawMessage(`"abc`), false},
		{"unclosed escape", json.RawMessage(`"\`), false},
		{"short unicode escape", json.RawMessage(`"\u12"`), false},
		{"bad unicode escape", json.RawMessage(`"\u12G4"`), false},
		{"bad escape", json.RawMessage(`"\x"`), false},
		{"tab in string", json.RawMessage("\"a\tb\""), false},
		{"nul in string", json.RawMessage("\"\x00\""), false},
		{"trailing comma in object", json.RawMessage(`{"a":1,}`), false},
		{"trailing comma in array", json.RawMessage(`[1,]`), false},
		{"leading comma", json.RawMessage(`[,1]`), false},
		{"missing value", json.RawMessage(`{"a":}`), false},
		{"missing colon", json.RawMessage(`{"a"}`), false},
		{"number key", json.RawMessage(`{1:2}`), false},
		{"mismatched brackets", json.RawMessage(`[1}`), false},
		{"mismatched braces", json.RawMessage(`{"a":1]`), false},
		{"extra close", json.RawMessage(`[]]`), false},
		{"two values", json.RawMessage(`{}{}`), false},
		{"two numbers", json.RawMessage(`1 2`), false},
		{"leading zero", json.RawMessage(`01`), false},
		{"negative leading zero", json.RawMessage(`-01`), false},
		{"bare minus", json.RawMessage(`-`), false},
		{"plus", json.RawMessage(`+1`), false},
		{"no fraction digits", json.RawMessage(`1.`), false},
		{"no integer digits", json.RawMessage(`.5`), false},
		{"no exponent digits", json.RawMessage(`1e`), false},
		{"signed empty exponent", json.RawMessage(`1e+`), false},
		{"hex", json.RawMessage(`0x1`), false},
		{"short literal", json.RawMessage(`tru`), false},
		{"long literal", json.RawMessage(`nulll`), false},
		{"capital literal", json.RawMessage(`True`), false},
		{"single quotes", json.RawMessage(`'a'`), false},
		{"byte order mark", json.RawMessage("\ufeff{}"), false},
		{"not json", json.RawMessage(`task please`), false},
	}
}

// encodeTime is a time value, with whether Time.MarshalJSON takes it; the
// fast path must take exactly those.
type encodeTime struct {
	name string
	t    time.Time
	ok   bool
}

func encodeTimes() []encodeTime {
	zone := func(offset int) *time.Location { return time.FixedZone("", offset) }
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	return []encodeTime{
		{"zero", time.Time{}, true},
		{"utc", at, true},
		{"whole second", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{"trailing zero nanoseconds", time.Date(2025, 1, 2, 3, 4, 5, 120000000, time.UTC), true},
		{"one nanosecond", time.Date(2025, 1, 2, 3, 4, 5, 1, time.UTC), true},
		{"now with monotonic clock", time.Now(), true},
		{"local", at.In(time.Local), true},
		{"named zone", at.In(time.FixedZone("EST", -5*3600)), true},
		{"east", at.In(zone(5*3600 + 30*60)), true},
		{"west", at.In(zone(-(3*3600 + 30*60))), true},
		{"offset with seconds", at.In(zone(3600 + 59)), true},
		{"offset under a minute west", at.In(zone(-59)), true},
		{"offset 23:59", at.In(zone(23*3600 + 59*60)), true},
		{"offset -23:59", at.In(zone(-(23*3600 + 59*60))), true},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), true},
		{"year 1000", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"year 999", time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC), true},

		{"offset 24:00", at.In(zone(24 * 3600)), false},
		{"offset -24:00", at.In(zone(-24 * 3600)), false},
		{"offset 99:00", at.In(zone(99 * 3600)), false},
		{"offset 100:00", at.In(zone(100 * 3600)), false},
		{"offset -1000:00", at.In(zone(-1000 * 3600)), false},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year -1", time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{"year -1000", time.Date(-1000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 10000 only in its zone", time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC).In(zone(2 * 3600)), false},
		{"year -1 only in its zone", time.Date(0, 1, 1, 1, 0, 0, 0, time.UTC).In(zone(-2 * 3600)), false},
		{"far future", time.Unix(math.MaxInt64/2, 0), false},
	}
}

// encodeTaskBase is an ordinary task that the tables change one field of.
func encodeTaskBase() actors.Task {
	task := benchTask()
	task.AgentID = "security-1"
	return task
}

// taskStringFields sets each string field of a task.
var taskStringFields = []struct {
	name string
	set  func(*actors.Task, string)
}{
	{"id", func(t *actors.Task, s string) { t.ID = s }},
	{"name", func(t *actors.Task, s string) { t.Name = s }},
	{"description", func(t *actors.Task, s string) { t.Description = s }},
	{"task_type", func(t *actors.Task, s string) { t.Type = s }},
	{"priority", func(t *actors.Task, s string) { t.Priority = actors.Priority(s) }},
	{"user_id", func(t *actors.Task, s string) { t.UserID = s }},
	{"agent_id", func(t *actors.Task, s string) { t.AgentID = s }},
}

// eventStringFields sets each string field of an event.
var eventStringFields = []struct {
	name string
	set  func(*Event, string)
}{
	{"type", func(ev *Event, s string) { ev.Type = s }},
	{"task_id", func(ev *Event, s string) { ev.TaskID = s }},
	{"agent_id", func(ev *Event, s string) { ev.AgentID = s }},
	{"user_id", func(ev *Event, s string) { ev.UserID = s }},
	{"project_id", func(ev *Event, s string) { ev.ProjectID = s }},
	{"status", func(ev *Event, s string) { ev.Status = s }},
}

func TestEncodeTaskFastMatchesMarshal(t *testing.T) {
	t.Parallel()
	for _, tc := range encodeTexts() {
		for _, f := range taskStringFields {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				task := encodeTaskBase()
				f.set(&task, tc.s)
				if fast := checkAppendTask(t, taskEnvelope{V: ProtocolVersion, Task: task}); fast != tc.fast {
					t.Fatalf("fast path taken: %v, want %v", fast, tc.fast)
				}
				checkEncodeTask(t, task)
			})
		}
	}
	for _, tc := range encodeRaws() {
		t.Run("parameters/"+tc.name, func(t *testing.T) {
			task := encodeTaskBase()
			task.Parameters = tc.m
			if fast := checkEncodeTask(t, task); fast != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", fast, tc.fast)
			}
		})
	}
	for _, tc := range encodeTimes() {
		t.Run("created_at/"+tc.name, func(t *testing.T) {
			task := encodeTaskBase()
			task.CreatedAt = tc.t
			_, err := EncodeTask(task)
			if (err == nil) != tc.ok {
				t.Fatalf("EncodeTask: err = %v, want error: %v", err, !tc.ok)
			}
			if fast := checkEncodeTask(t, task); fast != tc.ok {
				t.Fatalf("fast path taken: %v, want %v", fast, tc.ok)
			}
		})
	}
	for _, n := range []int{0, 1, -1, 10, math.MaxInt, math.MinInt} {
		t.Run(fmt.Sprint("ints/", n), func(t *testing.T) {
			task := encodeTaskBase()
			task.MaxAttempts = n
			if !checkAppendTask(t, taskEnvelope{V: n, Task: task}) || !checkEncodeTask(t, task) {
				t.Fatal("fast path refused the task")
			}
		})
	}
	t.Run("empty task", func(t *testing.T) {
		if !checkAppendTask(t, taskEnvelope{}) {
			t.Fatal("fast path refused the empty task")
		}
	})
	t.Run("attempt not written", func(t *testing.T) {
		task := encodeTaskBase()
		task.Attempt = 3
		if !checkEncodeTask(t, task) {
			t.Fatal("fast path refused the task")
		}
	})
}

func TestEncodeEventFastMatchesMarshal(t *testing.T) {
	t.Parallel()
	for _, tc := range encodeTexts() {
		for _, f := range eventStringFields {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				ev := benchEvent()
				f.set(&ev, tc.s)
				if fast := checkEncodeEvent(t, ev); fast != tc.fast {
					t.Fatalf("fast path taken: %v, want %v", fast, tc.fast)
				}
			})
		}
	}
	for _, tc := range encodeRaws() {
		t.Run("data/"+tc.name, func(t *testing.T) {
			ev := benchEvent()
			ev.Data = tc.m
			if fast := checkEncodeEvent(t, ev); fast != tc.fast {
				t.Fatalf("fast path taken: %v, want %v", fast, tc.fast)
			}
		})
	}
	for _, tc := range encodeTimes() {
		t.Run("time/"+tc.name, func(t *testing.T) {
			ev := benchEvent()
			ev.Time = tc.t
			ev.Data = json.RawMessage(`{"ms":12}`)
			_, err := encodeEvent(ev)
			if (err == nil) != tc.ok {
				t.Fatalf("encodeEvent: err = %v, want error: %v", err, !tc.ok)
			}
			if fast := checkEncodeEvent(t, ev); fast != tc.ok {
				t.Fatalf("fast path taken: %v, want %v", fast, tc.ok)
			}
		})
	}
	for _, v := range []int{0, 1, -1, math.MaxInt, math.MinInt} {
		t.Run(fmt.Sprint("version/", v), func(t *testing.T) {
			ev := benchEvent()
			ev.V = v
			if !checkEncodeEvent(t, ev) {
				t.Fatal("fast path refused the event")
			}
		})
	}
	t.Run("empty event", func(t *testing.T) {
		if !checkEncodeEvent(t, Event{}) {
			t.Fatal("fast path refused the empty event")
		}
	})
}

// TestEncodeFastRawPieces tries the fast path on every prefix and suffix of
// the raw values, mostly broken JSON that it must leave to json.Marshal.
func TestEncodeFastRawPieces(t *testing.T) {
	t.Parallel()
	for _, tc := range encodeRaws() {
		if len(tc.m) > 200 {
			continue
		}
		for i := range len(tc.m) {
			for _, m := range []json.RawMessage{tc.m[:i], tc.m[i:]} {
				ev := benchEvent()
				ev.Data = m
				checkEncodeEvent(t, ev)
			}
		}
	}
}

func TestEncodeTaskFastTakesOrdinaryTasks(t *testing.T) {
	t.Parallel()
	for _, task := range append(fastTasks(), encodeTaskBase(), newTask("docs")) {
		if !checkEncodeTask(t, task) {
			b, _ := EncodeTask(task)
			t.Errorf("fast path refused an ordinary task: %s", b)
		}
	}
}

func TestEncodeEventFastTakesOrdinaryEvents(t *testing.T) {
	t.Parallel()
	task := benchTask()
	started := Event{V: ProtocolVersion, Type: EventTaskStarted, TaskID: task.ID, UserID: task.UserID,
		Status: string(actors.StatusRunning), Time: time.Now().UTC()}
	failed := started
	failed.Type, failed.Status = EventTaskFailed, string(actors.StatusFailed)
	failed.Data = json.RawMessage(`{"error":"agent returned status 500","attempt":2}`)
	agent := Event{V: ProtocolVersion, Type: EventAgentOnline, AgentID: "docs-1", Status: "healthy", Time: time.Now()}
	project := Event{V: ProtocolVersion, Type: "project.updated", ProjectID: "p-1", Time: time.Now().UTC()}
	for _, ev := range []Event{benchEvent(), started, failed, agent, project} {
		if !checkEncodeEvent(t, ev) {
			b, _ := encodeEvent(ev)
			t.Errorf("fast path refused an ordinary event: %s", b)
		}
	}
}

// TestEncodeAllocations: EncodeTask and encodeEvent allocate only the body
// they return, which they do only on the fast path (json.Marshal takes
// three), so this also fails if they stop taking it.
func TestEncodeAllocations(t *testing.T) {
	// One allocation, the body; json.Marshal takes three, so a fast path
	// that always fell back would show. Under the race detector the pooled
	// scanner of json.Valid may add one.
	check := func(name string, fast, marshal func()) {
		t.Helper()
		n, m := testing.AllocsPerRun(100, fast), testing.AllocsPerRun(100, marshal)
		if n >= m || (!raceOn && n != 1) {
			t.Errorf("%s: %v allocations (json.Marshal: %v), want 1", name, n, m)
		}
	}
	task := benchTask()
	check("EncodeTask", func() { _, _ = EncodeTask(task) },
		func() { _, _ = json.Marshal(taskEnvelope{V: ProtocolVersion, Task: task}) })
	ev := benchEvent()
	check("encodeEvent", func() { _, _ = encodeEvent(ev) }, func() { _, _ = json.Marshal(ev) })
	ev.Data = json.RawMessage(`{"error":"agent returned status 500","attempt":2}`)
	check("encodeEvent with data", func() { _, _ = encodeEvent(ev) }, func() { _, _ = json.Marshal(ev) })
}

// TestPublishEventBodyIsMarshal checks the bodies PublishEvent sends, on
// the fast path and off it.
func TestPublishEventBodyIsMarshal(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	stream, err := c.JS().Stream(ctx, StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600))
	for _, ev := range []Event{
		{Type: EventTaskCompleted, TaskID: newID(), Status: "completed", Time: at, Data: json.RawMessage(`{"ms":12}`)},
		{Type: EventTaskFailed, TaskID: newID(), Status: "<failed>", Time: at, Data: json.RawMessage(`{ "error" : "a & b" }`)},
	} {
		if err := c.PublishEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		subject := storedTaskEvents(ev.TaskID) // where the stream files it
		ev.V = ProtocolVersion
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := lastMsg(t, stream, subject).Data; !bytes.Equal(got, want) {
			t.Errorf("PublishEvent sent\n %s\nwant\n %s", got, want)
		}
	}
}

// plainText reports whether s is printable ASCII that json.Marshal writes
// as it is.
func plainText(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e || strings.IndexByte(`"\<>&`, c) >= 0 {
			return false
		}
	}
	return true
}

// plainRawMessage reports whether m is empty, or printable ASCII without
// < > & that json.Marshal writes as it is. Such an m, when at most 128
// bytes long, nests at most 64 deep: the fast path must copy it.
func plainRawMessage(m []byte) bool {
	if len(m) == 0 {
		return true
	}
	if len(m) > 128 || !plainText(strings.NewReplacer(`"`, "", `\`, "").Replace(string(m))) {
		return false
	}
	b, err := json.Marshal(json.RawMessage(m))
	return err == nil && bytes.Equal(b, m)
}

// fuzzTime makes a time from fuzzed integers, in a zone of its own.
func fuzzTime(sec, nsec int64, offset int) time.Time {
	return time.Unix(sec, nsec).In(time.FixedZone("", offset))
}

// validTaskFor returns task with what EncodeTask validates made valid, so
// that fuzzed tasks get past validation to the encoding.
func validTaskFor(task actors.Task) actors.Task {
	if checkTaskID(task.ID) != nil {
		task.ID = "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10"
	}
	if checkTaskType(task.Type) != nil {
		task.Type = "x"
	}
	if _, err := actors.ParsePriority(string(task.Priority)); err != nil {
		task.Priority = ""
	}
	return task
}

// FuzzEncodeTask checks appendTaskFast against json.Marshal, and EncodeTask
// against its behaviour before the fast path.
func FuzzEncodeTask(f *testing.F) {
	add := func(task actors.Task, v int) {
		tz := task.CreatedAt
		_, offset := tz.Zone()
		f.Add(v, task.ID, task.Name, task.Description, task.Type, string(task.Priority), task.UserID, task.AgentID,
			[]byte(task.Parameters), task.MaxAttempts, tz.Unix(), int64(tz.Nanosecond()), offset)
	}
	add(benchTask(), ProtocolVersion)
	add(actors.Task{}, 0)
	for _, tc := range encodeTexts() {
		task := encodeTaskBase()
		task.Name, task.AgentID = tc.s, tc.s
		add(task, ProtocolVersion)
	}
	for _, tc := range encodeRaws() {
		task := encodeTaskBase()
		task.Parameters = tc.m
		add(task, ProtocolVersion)
	}
	for _, tc := range encodeTimes() {
		task := encodeTaskBase()
		task.CreatedAt = tc.t
		add(task, math.MinInt)
	}
	f.Fuzz(func(t *testing.T, v int, id, name, description, typ, priority, userID, agentID string,
		params []byte, maxAttempts int, sec, nsec int64, offset int) {
		task := actors.Task{
			ID: id, Name: name, Description: description, Type: typ, Priority: actors.Priority(priority),
			UserID: userID, AgentID: agentID, Parameters: params, MaxAttempts: maxAttempts,
			CreatedAt: fuzzTime(sec, nsec, offset),
		}
		env := taskEnvelope{V: v, Task: task}
		fast := checkAppendTask(t, env)
		_, err := json.Marshal(env)
		plain := plainText(id) && plainText(name) && plainText(description) && plainText(typ) &&
			plainText(priority) && plainText(userID) && plainText(agentID) && plainRawMessage(params)
		if err == nil && plain && !fast {
			t.Fatalf("fast path refused a plain task: %#v", env)
		}
		checkEncodeTask(t, validTaskFor(task))
	})
}

// FuzzEncodeEvent checks appendEventFast against json.Marshal, and
// encodeEvent against its behaviour before the fast path.
func FuzzEncodeEvent(f *testing.F) {
	add := func(ev Event) {
		_, offset := ev.Time.Zone()
		f.Add(ev.V, ev.Type, ev.TaskID, ev.AgentID, ev.UserID, ev.ProjectID, ev.Status, []byte(ev.Data),
			ev.Time.Unix(), int64(ev.Time.Nanosecond()), offset)
	}
	add(benchEvent())
	add(Event{})
	for _, tc := range encodeTexts() {
		ev := benchEvent()
		ev.Type, ev.ProjectID = tc.s, tc.s
		add(ev)
	}
	for _, tc := range encodeRaws() {
		ev := benchEvent()
		ev.Data = tc.m
		add(ev)
	}
	for _, tc := range encodeTimes() {
		ev := benchEvent()
		ev.Time = tc.t
		add(ev)
	}
	f.Fuzz(func(t *testing.T, v int, typ, taskID, agentID, userID, projectID, status string,
		data []byte, sec, nsec int64, offset int) {
		ev := Event{
			V: v, Type: typ, TaskID: taskID, AgentID: agentID, UserID: userID, ProjectID: projectID,
			Status: status, Time: fuzzTime(sec, nsec, offset), Data: data,
		}
		fast := checkEncodeEvent(t, ev)
		_, err := json.Marshal(ev)
		plain := plainText(typ) && plainText(taskID) && plainText(agentID) && plainText(userID) &&
			plainText(projectID) && plainText(status) && plainRawMessage(data)
		if err == nil && plain && !fast {
			t.Fatalf("fast path refused a plain event: %#v", ev)
		}
	})
}
