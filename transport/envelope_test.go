package transport

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
)

func TestEncodeDecodeTaskRoundTrip(t *testing.T) {
	t.Parallel()
	task := actors.Task{
		ID:          "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10",
		Name:        "scan",
		Description: "scan the repo",
		Type:        "security_scan",
		Parameters:  json.RawMessage(`{"repo":"x","depth":2}`),
		Priority:    actors.PriorityHigh,
		UserID:      "u1",
		AgentID:     "security-1",
		MaxAttempts: 3,
		CreatedAt:   time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Attempt:     9, // not on the wire
	}
	b, err := EncodeTask(task)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"v":1,`) {
		t.Fatalf("body does not start with the version: %s", b)
	}
	got, err := DecodeTask(b)
	if err != nil {
		t.Fatal(err)
	}
	task.Attempt = 0
	if !reflect.DeepEqual(got, task) {
		t.Fatalf("round trip:\n got  %+v\n want %+v", got, task)
	}
}

func TestEncodeTaskDefaultsPriority(t *testing.T) {
	t.Parallel()
	task := newTask("x")
	task.Priority = ""
	b, err := EncodeTask(task)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"priority":"normal"`) {
		t.Fatalf("empty priority not written as normal: %s", b)
	}
}

func TestDecodeTaskRejects(t *testing.T) {
	t.Parallel()
	const id = "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10"
	for _, tc := range []struct {
		name    string
		body    string
		version bool // ErrUnsupportedVersion expected
	}{
		{"newer version", `{"v":2,"id":"` + id + `","task_type":"x","priority":"low"}`, true},
		{"newer version, other schema", `{"v":2,"id":{"uuid":"` + id + `"}}`, true},
		{"no version", `{"id":"` + id + `","task_type":"x"}`, false},
		{"not json", `task please`, false},
		{"bad id", `{"v":1,"id":"42","task_type":"x"}`, false},
		{"uppercase id", `{"v":1,"id":"` + strings.ToUpper(id) + `","task_type":"x"}`, false},
		{"wildcard type", `{"v":1,"id":"` + id + `","task_type":"x.>"}`, false},
		{"empty type", `{"v":1,"id":"` + id + `","task_type":""}`, false},
		{"spaced type", `{"v":1,"id":"` + id + `","task_type":"a b"}`, false},
		{"bad priority", `{"v":1,"id":"` + id + `","task_type":"x","priority":"urgent"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTask([]byte(tc.body))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if errors.Is(err, ErrUnsupportedVersion) != tc.version {
				t.Fatalf("err = %v, ErrUnsupportedVersion expected: %v", err, tc.version)
			}
		})
	}
}

func TestEncodeTaskRejectsInvalidTokens(t *testing.T) {
	t.Parallel()
	for _, mutate := range []func(*actors.Task){
		func(t *actors.Task) { t.ID = "" },
		func(t *actors.Task) { t.ID = "a.b" },
		func(t *actors.Task) { t.Type = "*" },
		func(t *actors.Task) { t.Type = "scan\t" },
		func(t *actors.Task) { t.Priority = "asap" },
	} {
		task := newTask("x")
		mutate(&task)
		if _, err := EncodeTask(task); !errors.Is(err, ErrInvalid) {
			t.Errorf("EncodeTask(%+v): err = %v, want ErrInvalid", task, err)
		}
	}
}

func BenchmarkEncodeTask(b *testing.B) {
	task := benchTask()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeTask(task); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTask(b *testing.B) {
	body, err := EncodeTask(benchTask())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTask(body); err != nil {
			b.Fatal(err)
		}
	}
}

func benchTask() actors.Task {
	return actors.Task{
		ID:          "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10",
		Name:        "analyze repository",
		Description: "static analysis of the main branch",
		Type:        "code_analysis",
		Parameters:  json.RawMessage(`{"repository":"https://example.com/r.git","branch":"main","checks":["lint","vet"]}`),
		Priority:    actors.PriorityNormal,
		UserID:      "7d1c1c8e-2b6f-4d7e-8f0a-1a2b3c4d5e6f",
		MaxAttempts: 3,
		CreatedAt:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}
