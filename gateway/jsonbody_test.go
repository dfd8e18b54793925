package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ymera/ymera/actors"
)

// encodeAnswer writes v through the JSON format the server installs, and
// through huma's own, and returns both.
func encodeAnswer(t *testing.T, v any) (ours, theirs []byte, oursErr, theirsErr error) {
	t.Helper()
	var a, b bytes.Buffer
	oursErr = jsonFormats(huma.DefaultFormats)["application/json"].Marshal(&a, v)
	theirsErr = huma.DefaultJSONFormat.Marshal(&b, v)
	return a.Bytes(), b.Bytes(), oursErr, theirsErr
}

// The task answers written by appendJSON are byte for byte what
// encoding/json writes, and fail where it fails.
func TestTaskAnswersMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 11, 26, 18, 1, 2, 345678000, time.UTC)
	later := when.Add(1500 * time.Millisecond)
	oops := "it failed: \"quoted\" <tag> \u2028\n"
	full := taskDetail{
		ID: "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10", Name: "n\u00e9 \x01", Description: "d & <b>",
		TaskType: "code_generation", Parameters: jsonObject(`{"b": [1, 2.50, "x"], "a": {"deep": null}}`),
		Priority: actors.PriorityHigh, Status: actors.StatusFailed, Result: jsonObject(`{"ok": true}`),
		CreatedAt: when, CompletedAt: &later, ErrorMessage: &oops, Attempts: 2, MaxAttempts: 3,
		StartedAt: &when, UpdatedAt: later,
		AttemptHistory: []attemptView{
			{Attempt: 1, Status: "crashed", StartedAt: when},
			{Attempt: 2, Status: "failed", Error: &oops, StartedAt: when, FinishedAt: &later},
		},
	}
	empty := full
	empty.Parameters, empty.Result, empty.CompletedAt, empty.ErrorMessage, empty.StartedAt = jsonObject("{}"), nil, nil, nil, nil
	empty.AttemptHistory = []attemptView{}
	noHistory := empty
	noHistory.AttemptHistory = nil
	badRaw := full
	badRaw.Result = jsonObject(`{"ok":`)
	badTime := full
	badTime.UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	zoned := full
	zoned.CreatedAt = when.In(time.FixedZone("", 5*3600+30*60))

	for name, v := range map[string]any{
		"full": full, "empty": empty, "no history": noHistory, "zoned": zoned,
		"bad raw": badRaw, "bad time": badTime,
		"submit":          submitTaskResponse{TaskID: "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10", Status: "created"},
		"submit, waited":  submitTaskResponse{TaskID: full.ID, Status: "created", Task: &full},
		"submit, bad raw": submitTaskResponse{TaskID: full.ID, Status: "created", Task: &badRaw},
		"not an appender": map[string]int{"x": 1},
	} {
		ours, theirs, oursErr, theirsErr := encodeAnswer(t, v)
		if (oursErr == nil) != (theirsErr == nil) || !bytes.Equal(ours, theirs) {
			t.Errorf("%s:\n ours   %s (%v)\n theirs %s (%v)", name, ours, oursErr, theirs, theirsErr)
		}
	}
	if _, ok := badRaw.appendJSON(nil); ok {
		t.Error("an invalid raw result was written as if valid")
	}
}

func FuzzTaskDetailAnswer(f *testing.F) {
	f.Add("name", "desc", `{"a": 1}`, "err", int64(0))
	f.Add("\xff\u2028", "<&>", `[1`, "", int64(-62135596800))
	f.Fuzz(func(t *testing.T, name, desc, params, errMsg string, unix int64) {
		when := time.Unix(unix, 0).UTC()
		d := taskDetail{ID: "x", Name: name, Description: desc, Parameters: jsonObject(params),
			Status: actors.StatusCompleted, CreatedAt: when, UpdatedAt: when, ErrorMessage: &errMsg}
		ours, theirs, oursErr, theirsErr := encodeAnswer(t, d)
		if (oursErr == nil) != (theirsErr == nil) || (oursErr == nil && !bytes.Equal(ours, theirs)) {
			t.Fatalf("ours %s (%v)\ntheirs %s (%v)", ours, oursErr, theirs, theirsErr)
		}
		if oursErr == nil && !json.Valid(bytes.TrimSpace(ours)) {
			t.Fatalf("not JSON: %s", ours)
		}
	})
}

// BenchmarkTaskDetailAnswer writes a finished task's GET answer through
// the server's JSON format (appendJSON) and through huma's (encoding/json).
func BenchmarkTaskDetailAnswer(b *testing.B) {
	when := time.Date(2026, 11, 26, 18, 1, 2, 345678000, time.UTC)
	d := taskDetail{
		ID: "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10", Name: "bench", TaskType: "bench_noop",
		Parameters: jsonObject("{}"), Priority: actors.PriorityNormal, Status: actors.StatusCompleted,
		Result: jsonObject(`{"ok": true}`), CreatedAt: when, CompletedAt: &when, Attempts: 1, MaxAttempts: 3,
		StartedAt: &when, UpdatedAt: when,
		AttemptHistory: []attemptView{{Attempt: 1, Status: "completed", StartedAt: when, FinishedAt: &when}},
	}
	for name, f := range map[string]huma.Format{
		"appendJSON":    jsonFormats(huma.DefaultFormats)["application/json"],
		"encoding-json": huma.DefaultJSONFormat,
	} {
		b.Run(name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := f.Marshal(&buf, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// submitBodies are POST /tasks bodies at the edges of what
// submitTaskRequest.decodeJSON reads itself.
var submitBodies = []string{
	`{"name":"bench","parameters":{},"task_type":"bench_noop"}`,
	` {"name" : "n", "description":"d", "task_type":"t", "priority":"high", "agent_id":"a", "parameters":{"x":[1,"\n"]}} `,
	`{"name":"n\u00e9","task_type":"t"}`, // an escape: left to encoding/json
	`{"name":"caf` + "\xc3\xa9" + `","task_type":"t"}`,
	`{"name":"bad` + "\xff" + `","task_type":"t"}`,
	`{"name":null,"parameters":null,"task_type":"t"}`,
	`{"name":"a","name":"b"}`,
	`{"Name":"upper","name":"lower"}`, `{"name":"lower","NAME":"upper"}`,
	`{"tas` + "\u212a" + `_type":"kelvin"}`, `{"unknown":{"deep":[1,2,{"name":"x"}]},"name":"n"}`,
	`{"name":1}`, `{"parameters":[1]}`, `{"parameters":{"a":}}`, `{"name":"n",}`, `{"name":"n"} x`,
	`[]`, `null`, ``, `{"n\"ame":"x"}`, `{"parameters":{"big":1e400}}`, `{"priority":"nope"}`,
}

// checkSubmitDecode fails t where decodeJSON and encoding/json read body
// differently, or decodeJSON refused and did not leave the request as it
// was.
func checkSubmitDecode(t *testing.T, body []byte) {
	t.Helper()
	var ours, theirs submitTaskRequest
	ok := ours.decodeJSON(body)
	err := json.Unmarshal(body, &theirs)
	switch {
	case ok && err != nil:
		t.Fatalf("decodeJSON(%q) read %+v; encoding/json refuses it: %v", body, ours, err)
	case ok && !reflect.DeepEqual(ours, theirs):
		t.Fatalf("decodeJSON(%q):\n ours   %+v\n theirs %+v", body, ours, theirs)
	case !ok && !reflect.DeepEqual(ours, submitTaskRequest{}):
		t.Fatalf("decodeJSON(%q) refused but changed the request: %+v", body, ours)
	}
}

func TestSubmitRequestMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, body := range submitBodies {
		checkSubmitDecode(t, []byte(body))
	}
	var r submitTaskRequest
	if !r.decodeJSON([]byte(submitBodies[0])) || !r.decodeJSON([]byte(submitBodies[1])) {
		t.Fatal("decodeJSON left a plain body to encoding/json")
	}
	// Through the format the server installs, for huma's two reads: the
	// request and the `any` it validates.
	format := jsonFormats(huma.DefaultFormats)["application/json"]
	var got submitTaskRequest
	if err := format.Unmarshal([]byte(submitBodies[2]), &got); err != nil || got.Name != "n\u00e9" {
		t.Fatalf("through the format: %+v, %v", got, err)
	}
	var v any
	if err := format.Unmarshal([]byte(`{"name":1e400}`), &v); err == nil {
		t.Fatalf("a number past float64 decoded: %v", v)
	}
	if err := format.Unmarshal([]byte(submitBodies[0]), &v); err != nil || v.(map[string]any)["task_type"] != "bench_noop" {
		t.Fatalf("validation's read: %#v, %v", v, err)
	}
}

func FuzzSubmitRequest(f *testing.F) {
	for _, body := range submitBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(checkSubmitDecode)
}
