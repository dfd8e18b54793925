package actors

import (
	"encoding/json"
	"fmt"
	"time"
)

// Priority orders tasks waiting for the same capability.
type Priority string

// The four priorities, lowest first.
const (
	PriorityLow      Priority = "low"
	PriorityNormal   Priority = "normal"
	PriorityHigh     Priority = "high"
	PriorityCritical Priority = "critical"
)

// Priorities lists every priority from highest to lowest.
var Priorities = []Priority{PriorityCritical, PriorityHigh, PriorityNormal, PriorityLow}

// ParsePriority returns the priority named by s; the empty string is normal.
func ParsePriority(s string) (Priority, error) {
	switch Priority(s) {
	case "":
		return PriorityNormal, nil
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityCritical:
		return Priority(s), nil
	}
	return "", fmt.Errorf("priority %q is not one of low, normal, high, critical", s)
}

// Status is where a task is in its lifecycle.
type Status string

// Task statuses. Pending: accepted and stored, not yet confirmed on the queue.
// Queued: on the durable queue. Running: an agent holds it. The rest are final.
const (
	StatusPending    Status = "pending"
	StatusQueued     Status = "queued"
	StatusRunning    Status = "running"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
	StatusCancelled  Status = "cancelled"
	StatusTimeout    Status = "timeout"
	StatusDeadLetter Status = "dead_letter"
)

// Statuses returns every task status, in lifecycle order: the values the
// stores' tasks.status column admits.
func Statuses() []Status {
	return []Status{StatusPending, StatusQueued, StatusRunning, StatusCompleted, StatusFailed,
		StatusCancelled, StatusTimeout, StatusDeadLetter}
}

// Final reports whether no further transition can happen from s.
func (s Status) Final() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusCancelled, StatusTimeout, StatusDeadLetter:
		return true
	}
	return false
}

// ParseStatus returns the status named by s.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusPending, StatusQueued, StatusRunning, StatusCompleted, StatusFailed,
		StatusCancelled, StatusTimeout, StatusDeadLetter:
		return st, nil
	}
	return "", fmt.Errorf("status %q is not one of pending, queued, running, completed, failed, cancelled, timeout, dead_letter", s)
}

// Task is the unit of work an agent receives. It is what travels on the
// queue; the store keeps it together with its lifecycle fields.
type Task struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Type        string          `json:"task_type"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Priority    Priority        `json:"priority"`
	UserID      string          `json:"user_id,omitempty"`
	// AgentID, when set, routes the task to that agent only.
	AgentID     string    `json:"agent_id,omitempty"`
	MaxAttempts int       `json:"max_attempts,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Attempt is the 1-based attempt number of this delivery; set by the
	// runtime, not by the submitter.
	Attempt int `json:"-"`
}

// Result is what an agent returns for a task. Output is stored verbatim as
// the task's result and must be a JSON object.
type Result struct {
	Output json.RawMessage
}

// JSONResult marshals v into a Result.
func JSONResult(v any) (Result, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Result{}, fmt.Errorf("actors: encode result: %w", err)
	}
	return Result{Output: b}, nil
}
