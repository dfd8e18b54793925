package transport

import (
	"errors"
	"testing"

	"github.com/ymera/ymera/actors"
)

func TestSubjects(t *testing.T) {
	t.Parallel()
	const id = "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10"
	for _, tc := range []struct {
		name string
		got  func() (string, error)
		want string // "" means ErrInvalid expected
	}{
		{"task", func() (string, error) { return TaskSubject("security_scan", actors.PriorityHigh) }, "ymera.tasks.security_scan.high"},
		{"task default priority", func() (string, error) { return TaskSubject("scan", "") }, "ymera.tasks.scan.normal"},
		{"task bad priority", func() (string, error) { return TaskSubject("scan", "p1") }, ""},
		{"task dot", func() (string, error) { return TaskSubject("a.b", actors.PriorityLow) }, ""},
		{"task star", func() (string, error) { return TaskSubject("*", actors.PriorityLow) }, ""},
		{"task gt", func() (string, error) { return TaskSubject(">", actors.PriorityLow) }, ""},
		{"task space", func() (string, error) { return TaskSubject("a b", actors.PriorityLow) }, ""},
		{"task empty", func() (string, error) { return TaskSubject("", actors.PriorityLow) }, ""},
		{"task upper", func() (string, error) { return TaskSubject("Scan", actors.PriorityLow) }, ""},
		{"filter", func() (string, error) { return TaskFilter("scan") }, "ymera.tasks.scan.*"},
		{"task event", func() (string, error) { return TaskEventSubject(id) }, "ymera.events.task." + id},
		{"task event not uuid", func() (string, error) { return TaskEventSubject("abc") }, ""},
		{"task event wildcard", func() (string, error) { return TaskEventSubject("0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e1>") }, ""},
		{"stored task events", func() (string, error) { return StoredTaskEventSubject(id) }, "ymera.events.task_bucket.3826"}, // 32-bit FNV-1a of id, mod 4096
		{"stored task events not uuid", func() (string, error) { return StoredTaskEventSubject("abc") }, ""},
		{"agent event", func() (string, error) { return AgentEventSubject("security-A1_b") }, "ymera.events.agent.security-A1_b"},
		{"agent event dot", func() (string, error) { return AgentEventSubject("a.b") }, ""},
		{"agent event newline", func() (string, error) { return AgentEventSubject("a\n") }, ""},
		{"agent event empty", func() (string, error) { return AgentEventSubject("") }, ""},
		{"dead letter", func() (string, error) { return DeadLetterSubject("scan") }, "ymera.dlq.scan"},
		{"consumer", func() (string, error) { return ConsumerName("security") }, "agent_security"},
		{"consumer bad", func() (string, error) { return ConsumerName("sec urity") }, ""},
		{"advisory", func() (string, error) { return MaxDeliveriesAdvisorySubject("docs") }, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.YMERA_TASKS.agent_docs"},
		{"type of subject", func() (string, error) { return TaskTypeOfSubject("ymera.tasks.scan.low") }, "scan"},
		{"type of other subject", func() (string, error) { return TaskTypeOfSubject("ymera.events.task.x") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if tc.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("= %q, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestWildcards(t *testing.T) {
	t.Parallel()
	if got := TaskEventsWildcard(); got != "ymera.events.task.*" {
		t.Errorf("TaskEventsWildcard() = %q", got)
	}
	if got := AgentEventsWildcard(); got != "ymera.events.agent.*" {
		t.Errorf("AgentEventsWildcard() = %q", got)
	}
	if got := EventsWildcard(); got != "ymera.events.>" {
		t.Errorf("EventsWildcard() = %q", got)
	}
}
