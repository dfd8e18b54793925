package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// The results service lets an agent that has no database (one written in
// another language, on another machine) report what the store must record:
// that it started the task it holds, then the outcome. Requests and replies
// are the JSON bodies below, on ReportStartSubject and ReportResultSubject;
// the service is a NATS micro service named ReportServiceName in the queue
// group ReportQueueGroup, so every process with the store shares the load.
// docs/protocol.md and docs/schemas/report-*.json describe them for other
// languages.

// Identity of the results service.
const (
	ReportServiceName    = "ymera-results"
	ReportServiceVersion = "1.0.0"
	ReportQueueGroup     = "ymera-results"
)

// Statuses an agent reports in ReportResult.Status.
const (
	ReportCompleted = "completed" // Result is the task's result
	ReportFailed    = "failed"    // Error says why; Permanent says retrying cannot help
	ReportRetry     = "retry"     // a transient failure: retry if attempts remain
)

// Error codes of a refused report (ReportError.Code), also sent as the
// micro service's Nats-Service-Error-Code header.
const (
	ReportCodeBadRequest  = "400" // the request is malformed; Message names the problem
	ReportCodeNotFound    = "404" // no such task, or no message at that lease
	ReportCodeConflict    = "409" // task is final or held by another delivery
	ReportCodeUnavailable = "503" // the store did not answer; nothing was recorded
)

// What the agent must do with its message after a reply (Action).
const (
	ActionAck  = "ack"  // +ACK: the task is settled (or not ours to run)
	ActionNak  = "nak"  // -NAK {"delay": DelayNS}: deliver it again later
	ActionNone = "none" // leave it: its holder settles it, or the ack deadline does
)

// ReportStart asks the platform to start the task an agent has just been
// delivered: the conditional transition to running under Lease.
type ReportStart struct {
	V      int    `json:"v"`
	TaskID string `json:"task_id"`
	// Lease is the stream sequence of the delivered message in YMERA_TASKS,
	// the same on every redelivery of that message.
	Lease   uint64 `json:"lease"`
	AgentID string `json:"agent_id,omitempty"`
}

// ReportStartReply accepts a start: the agent runs attempt Attempt.
type ReportStartReply struct {
	V           int    `json:"v"`
	OK          bool   `json:"ok"`
	Attempt     int    `json:"attempt"`
	MaxAttempts int    `json:"max_attempts"`
	Action      string `json:"action,omitempty"`
}

// ReportResult reports the outcome of the attempt holding Lease.
type ReportResult struct {
	V       int    `json:"v"`
	TaskID  string `json:"task_id"`
	Lease   uint64 `json:"lease"`
	AgentID string `json:"agent_id,omitempty"`
	// Status is ReportCompleted, ReportFailed or ReportRetry.
	Status string `json:"status"`
	// Result is the task's result, a JSON object, when completed.
	Result json.RawMessage `json:"result,omitempty"`
	// Error says why the attempt failed (failed, retry).
	Error string `json:"error,omitempty"`
	// Permanent marks a failure that retrying cannot fix.
	Permanent bool `json:"permanent,omitempty"`
}

// ReportResultReply accepts an outcome: it is committed, and the agent
// answers its message as Action says (after a transient failure with
// attempts left: nak with DelayNS).
type ReportResultReply struct {
	V      int    `json:"v"`
	OK     bool   `json:"ok"`
	Status string `json:"status"` // the task's status now
	Action string `json:"action"`
	// DelayNS is the redelivery delay in nanoseconds when Action is nak.
	DelayNS int64 `json:"delay_ns,omitempty"`
}

// ReportError refuses a report. Nothing was recorded; Action tells the agent
// what to do with its message.
type ReportError struct {
	V       int    `json:"v"`
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Action  string `json:"action"`
	DelayNS int64  `json:"delay_ns,omitempty"`
}

// ErrNoMessage means no task message is stored at the sequence asked for:
// it was acknowledged already, or never stored.
var ErrNoMessage = errors.New("transport: no task message at that sequence")

// maxReportError bounds the error text of a failure report kept in the store.
const maxReportError = 8 << 10

// DecodeReportStart parses and validates a start request. Errors wrap
// ErrInvalid (or ErrUnsupportedVersion) and name the bad value.
func DecodeReportStart(b []byte) (ReportStart, error) {
	var r ReportStart
	if err := decodeReport(b, &r, &r.V); err != nil {
		return r, err
	}
	return r, checkReportTask(r.TaskID, r.Lease, r.AgentID)
}

// DecodeReportResult parses and validates a result request. Errors wrap
// ErrInvalid (or ErrUnsupportedVersion) and name the bad value.
func DecodeReportResult(b []byte) (ReportResult, error) {
	var r ReportResult
	if err := decodeReport(b, &r, &r.V); err != nil {
		return r, err
	}
	if err := checkReportTask(r.TaskID, r.Lease, r.AgentID); err != nil {
		return r, err
	}
	switch r.Status {
	case ReportCompleted:
		var obj map[string]json.RawMessage
		if json.Unmarshal(r.Result, &obj) != nil || obj == nil {
			return r, fmt.Errorf("%w: result of a completed task must be a JSON object, got %.64q", ErrInvalid, r.Result)
		}
	case ReportFailed, ReportRetry:
		if r.Error == "" {
			return r, fmt.Errorf("%w: status %q needs an error message", ErrInvalid, r.Status)
		}
		if len(r.Error) > maxReportError {
			r.Error = r.Error[:maxReportError]
		}
	default:
		return r, fmt.Errorf("%w: status %q is not one of completed, failed, retry", ErrInvalid, r.Status)
	}
	return r, nil
}

func decodeReport(b []byte, into any, v *int) error {
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%w: request is not the expected JSON object: %w", ErrInvalid, err)
	}
	return checkVersion(*v)
}

func checkReportTask(taskID string, lease uint64, agentID string) error {
	if err := checkTaskID(taskID); err != nil {
		return err
	}
	if lease == 0 {
		return fmt.Errorf("%w: lease must be the message's stream sequence (a positive integer), got 0", ErrInvalid)
	}
	if agentID != "" {
		return checkAgentID(agentID)
	}
	return nil
}

// TaskAt returns the task whose message is stored at seq in YMERA_TASKS:
// what the results service reads to create the row of a task a service
// published straight to NATS. ErrNoMessage when none is stored there
// (acknowledged already, or never).
func (c *Conn) TaskAt(ctx context.Context, seq uint64) (actors.Task, error) {
	op := "task at seq " + strconv.FormatUint(seq, 10)
	stream, err := c.js.Stream(ctx, StreamTasks)
	if err != nil {
		return actors.Task{}, wrap(op, err)
	}
	raw, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return actors.Task{}, fmt.Errorf("transport: %s: %w", op, ErrNoMessage)
	}
	if err != nil {
		return actors.Task{}, wrap(op, err)
	}
	t, err := DecodeTask(raw.Data)
	if err != nil {
		return actors.Task{}, fmt.Errorf("transport: %s: %w", op, err)
	}
	return t, nil
}
