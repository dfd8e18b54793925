package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/breaker"
	"github.com/ymera/ymera/store"
)

// ErrCallFailed is returned by a Caller when the called task ended in a
// status other than completed; the message carries the status and error.
var ErrCallFailed = errors.New("runner: called task did not complete")

// Caller runs agent-to-agent calls as sub-tasks: it submits a task of the
// wanted type through the Submitter (so the call has a row, retries, a
// timeout and survives a crash of the callee like any task) and waits for it
// to become final. Every call goes through the breaker of its task type
// ("agent:<type>"), so a callee that keeps failing makes its callers fail
// fast with breaker.ErrCircuitOpen.
//
// A sub-task takes a worker of its kind; an agent that calls its own kind
// with every worker busy waits for one to free up (bounded by the caller's
// task timeout), so keep call graphs acyclic.
type Caller struct {
	Submitter interface {
		Submit(ctx context.Context, t actors.Task) error
	}
	Tasks interface {
		Get(ctx context.Context, id string) (store.Task, error)
	}
	Breakers *breaker.Set
	// Poll is the longest wait between looks at the sub-task (default 1 s;
	// the first looks come sooner).
	Poll time.Duration
	// MaxAttempts of each sub-task (default 1: the caller decides whether
	// to try again, and its breaker counts each failure).
	MaxAttempts int
}

// For returns the actors.Caller a task's agent sees: its sub-tasks carry the
// task's user and priority.
func (c *Caller) For(parent actors.Task) actors.Caller {
	return boundCaller{c: c, parent: parent}
}

type boundCaller struct {
	c      *Caller
	parent actors.Task
}

func (b boundCaller) Call(ctx context.Context, taskType string, params json.RawMessage) (json.RawMessage, error) {
	var out json.RawMessage
	err := b.c.Breakers.Do(ctx, "agent:"+taskType, func(ctx context.Context) error {
		var err error
		out, err = b.c.call(ctx, b.parent, taskType, params)
		return err
	})
	return out, err
}

// call submits one sub-task and waits for its final status.
func (c *Caller) call(ctx context.Context, parent actors.Task, taskType string, params json.RawMessage) (json.RawMessage, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("runner: call %s: %w", taskType, err)
	}
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 1
	}
	t := actors.Task{
		ID:          id.String(),
		Name:        "call from task " + parent.ID,
		Type:        taskType,
		Parameters:  params,
		Priority:    parent.Priority,
		UserID:      parent.UserID,
		MaxAttempts: attempts,
		CreatedAt:   time.Now().UTC(),
	}
	if t.Priority == "" {
		t.Priority = actors.PriorityNormal
	}
	if err := c.Submitter.Submit(ctx, t); err != nil {
		return nil, fmt.Errorf("runner: call %s: %w", taskType, err)
	}
	maxPoll := c.Poll
	if maxPoll <= 0 {
		maxPoll = time.Second
	}
	wait := min(20*time.Millisecond, maxPoll)
	for {
		st, err := c.Tasks.Get(ctx, t.ID)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("runner: call %s (task %s): %w", taskType, t.ID, ctx.Err())
		case err == nil && st.Status == actors.StatusCompleted:
			return st.Result, nil
		case err == nil && st.Status.Final():
			return nil, fmt.Errorf("%w: task %s of type %s ended %s: %s", ErrCallFailed, t.ID, taskType, st.Status, st.ErrorMessage)
		}
		// Not final yet, or the store did not answer this time: look again.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("runner: call %s (task %s): %w", taskType, t.ID, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, maxPoll)
	}
}
