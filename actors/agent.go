package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Agent is what an actor runs. Process is called with one task at a time per
// instance; the pool runs several instances for concurrency. The context is
// cancelled when the task times out, is cancelled, or the node shuts down.
//
// An error returned by Process fails the attempt. Wrap it with Permanent when
// retrying cannot help (bad parameters, unsupported input); any other error is
// treated as transient. A panic is a crash: the supervisor restarts the actor
// and the task is delivered again.
type Agent interface {
	Process(ctx context.Context, t Task) (Result, error)
}

// Initializer is implemented by agents that acquire resources before their
// first task. An error stops the actor from starting; the supervisor retries
// with backoff.
type Initializer interface {
	Initialize(ctx context.Context) error
}

// Cleaner is implemented by agents that hold resources to release when their
// actor stops or restarts.
type Cleaner interface {
	Cleanup(ctx context.Context) error
}

// HealthChecker is implemented by agents that can tell whether they are able
// to take work (a model endpoint reachable, a tool installed, ...).
type HealthChecker interface {
	HealthCheck(ctx context.Context) Health
}

// HealthStatus is an agent's own view of whether it can take work.
type HealthStatus string

// The health states an agent reports.
const (
	Healthy   HealthStatus = "healthy"
	Degraded  HealthStatus = "degraded"
	Unhealthy HealthStatus = "unhealthy"
)

// Health is the answer of a health check.
type Health struct {
	Status  HealthStatus `json:"status"`
	Message string       `json:"message,omitempty"`
}

// Kind describes one agent kind: its name, the task types it offers and how to
// make a fresh instance. The supervisor calls New once per actor start, so an
// instance never outlives a crash.
type Kind struct {
	// Name identifies the kind ("security", "documentation"); it is a single
	// NATS subject token: lowercase letters, digits, '_' and '-'.
	Name string
	// Description is a one-line human summary.
	Description string
	// TaskTypes are the task types this kind can process, e.g. "security_scan".
	TaskTypes []string
	// New returns a new agent instance.
	New func() Agent
	// ParamsSchema, when set, is the JSON Schema of the task parameters the
	// kind accepts. It is published in the metadata of the kind's NATS micro
	// service endpoints ($SRV.INFO), so that other parties can discover it.
	ParamsSchema json.RawMessage
}

// Validate reports whether the kind is usable.
func (k Kind) Validate() error {
	if !ValidToken(k.Name) {
		return fmt.Errorf("actors: kind name %q must be a lowercase token of letters, digits, '_' or '-'", k.Name)
	}
	if len(k.TaskTypes) == 0 {
		return fmt.Errorf("actors: kind %q offers no task types", k.Name)
	}
	for _, tt := range k.TaskTypes {
		if !ValidToken(tt) {
			return fmt.Errorf("actors: kind %q: task type %q must be a lowercase token of letters, digits, '_' or '-'", k.Name, tt)
		}
	}
	if k.New == nil {
		return fmt.Errorf("actors: kind %q has no constructor", k.Name)
	}
	return nil
}

// ValidToken reports whether s can be used as one NATS subject token and as a
// name in the API: 1 to 64 characters of [a-z0-9_-].
func ValidToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// PermanentError marks a failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so the runtime fails the task without retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Clock is the time source used where tests need to control it.
type Clock func() time.Time
