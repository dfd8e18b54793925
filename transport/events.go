package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Event types. A type is "<subject>.<what happened>"; readers ignore types
// they do not know.
const (
	EventTaskCreated   = "task.created"
	EventTaskQueued    = "task.queued"
	EventTaskStarted   = "task.started"
	EventTaskProgress  = "task.progress"
	EventTaskCompleted = "task.completed"
	EventTaskFailed    = "task.failed"
	EventTaskRetrying  = "task.retrying"
	EventTaskCancelled = "task.cancelled"
	EventTaskDead      = "task.dead_letter"
	EventAgentOnline   = "agent.online"
	EventAgentOffline  = "agent.offline"
	EventAgentStatus   = "agent.status"
)

// Event is something that happened to a task or an agent. Events are for
// watching (the gateway fans them out to WebSocket clients); the store,
// not the event stream, is the record of a task's state.
type Event struct {
	// V is the body version; PublishEvent sets it.
	V int `json:"v"`
	// Type says what happened, e.g. EventTaskCompleted.
	Type string `json:"type"`
	// TaskID is set for task events, which go to ymera.events.task.<id>.
	TaskID string `json:"task_id,omitempty"`
	// AgentID is the agent concerned; alone (no TaskID) it makes an agent
	// event, on ymera.events.agent.<id>.
	AgentID string `json:"agent_id,omitempty"`
	// UserID owns the task or agent concerned; the gateway shows an event
	// only to its owner (and admins). Empty means no user owns it.
	UserID string `json:"user_id,omitempty"`
	// ProjectID is the project concerned; alone (no TaskID, no AgentID) it
	// makes a project event, on ymera.events.project.<id>.
	ProjectID string `json:"project_id,omitempty"`
	// Status is the task's or agent's status after the event, if it has one.
	Status string `json:"status,omitempty"`
	// Time is when it happened; PublishEvent sets it to now when zero.
	Time time.Time `json:"time"`
	// Data is event-specific detail (progress, result summary, error).
	Data json.RawMessage `json:"data,omitempty"`
}

// EventSubject returns the subject ev is published on: its task's subject
// when TaskID is set, else its agent's, else its project's.
func EventSubject(ev Event) (string, error) {
	switch {
	case ev.TaskID != "":
		return TaskEventSubject(ev.TaskID)
	case ev.AgentID != "":
		return AgentEventSubject(ev.AgentID)
	case ev.ProjectID != "":
		return ProjectEventSubject(ev.ProjectID)
	}
	return "", fmt.Errorf("%w: event %q has no task, agent or project id", ErrInvalid, ev.Type)
}

// PublishEvent publishes ev with a core NATS publish and returns without
// waiting for JetStream to store it: events stay off the hot path, and a
// lost event costs a watcher an update, never a task. YMERA_EVENTS captures
// the subject. The trace context of ctx travels in the headers. An error
// means ev was invalid or the connection is closed or its reconnect buffer
// full.
func (c *Conn) PublishEvent(ctx context.Context, ev Event) error {
	subject, err := EventSubject(ev)
	if err != nil {
		return err
	}
	if ev.Type == "" {
		return fmt.Errorf("%w: event on %s has no type", ErrInvalid, subject)
	}
	if ev.AgentID != "" {
		if err := checkAgentID(ev.AgentID); err != nil {
			return err
		}
	}
	ev.V = ProtocolVersion
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	body, err := encodeEvent(ev)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subject, Data: body, Header: traceHeader(ctx)}
	if err := c.nc.PublishMsg(msg); err != nil {
		return wrap("publish event "+ev.Type+" on "+subject, err)
	}
	return nil
}

// encodeEvent returns the wire body of ev, which PublishEvent has checked
// and completed.
func encodeEvent(ev Event) ([]byte, error) {
	if b, ok := appendEventFast(nil, ev); ok {
		return b, nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("%w: encode event %s: %w", ErrInvalid, ev.Type, err)
	}
	return b, nil
}

// eventStatus returns the Status of the event in b, or DecodeEvent's error
// for it, reading no more of b than it must.
func eventStatus(b []byte) (string, error) {
	if v, status, ok := eventStatusFast(b); ok {
		if err := checkVersion(v); err != nil {
			return "", fmt.Errorf("transport: decode event: %w", err)
		}
		return status, nil
	}
	ev, err := DecodeEvent(b)
	return ev.Status, err
}

// DecodeEvent parses an event body, refusing other major versions with
// ErrUnsupportedVersion.
func DecodeEvent(b []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		if verr := checkVersion(probeVersion(b)); verr != nil {
			return Event{}, fmt.Errorf("transport: decode event: %w", verr)
		}
		return Event{}, fmt.Errorf("%w: decode event: %w", ErrInvalid, err)
	}
	if err := checkVersion(ev.V); err != nil {
		return Event{}, fmt.Errorf("transport: decode event: %w", err)
	}
	return ev, nil
}
