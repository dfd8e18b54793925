package supervisor

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidConfig is wrapped by StartPool's error when a PoolConfig
	// cannot run; the message names every offending field.
	ErrInvalidConfig = errors.New("supervisor: invalid pool config")
	// ErrPoolExists is returned by StartPool when a pool of the same name is
	// still running: a kind has one pool (one durable consumer) per process.
	ErrPoolExists = errors.New("supervisor: pool already running")
	// ErrClosed is returned by StartPool after Shutdown.
	ErrClosed = errors.New("supervisor: shut down")
)

// PanicError is the failure of a worker that panicked. Hooks.OnFailure
// receives it (errors.As finds it), and the pool logs its Stack, captured
// where the panic happened, before the actor is restarted.
type PanicError struct {
	// Value is what the worker passed to panic.
	Value any
	// Stack is the panicking goroutine's stack trace.
	Stack []byte
}

// Error describes the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("supervisor: worker panicked: %v", e.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is sees
// through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// startError carries a Worker.Start error through a panic to the restart
// strategy, so that it is reported as itself rather than as a panic.
type startError struct{ err error }

// reasonError turns a failure reason, as protoactor hands it to a strategy,
// into the error reported to hooks and logs.
func reasonError(reason any) error {
	switch r := reason.(type) {
	case *PanicError:
		return r
	case *startError:
		return fmt.Errorf("supervisor: worker start: %w", r.err)
	default:
		// A panic that escaped our own recover (there should be none): report
		// it without a stack rather than drop it.
		return &PanicError{Value: r}
	}
}
