package actors

import (
	"context"
	"encoding/json"
)

// Caller lets an agent hand part of its work to another agent kind and wait
// for the answer. The runtime puts one in the context of every task it runs
// (see CallerFrom); its calls go through a circuit breaker per task type, so
// a broken dependency makes them fail fast (errors.Is(err,
// breaker.ErrCircuitOpen)) instead of tying up the caller.
type Caller interface {
	// Call runs a task of taskType with params (a JSON object) and returns
	// its result. It returns an error when the task cannot be submitted, ends
	// in any status but completed, or ctx ends first.
	Call(ctx context.Context, taskType string, params json.RawMessage) (json.RawMessage, error)
}

type callerKey struct{}

// WithCaller returns ctx carrying c, for the runtime.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller the runtime put in a task's context; ok is
// false when there is none (a test calling Process directly, or a runtime
// configured without one).
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok
}
