package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sentinel errors callers branch on with errors.Is. The errors returned by
// this package wrap one of them when it applies, and keep the underlying
// nats.go error in the chain as well.
var (
	// ErrUnavailable means NATS or JetStream did not answer: no connection,
	// no responders, a timeout waiting for the server, JetStream disabled.
	// Retrying later may succeed; the gateway answers 503.
	ErrUnavailable = errors.New("transport: nats unavailable")

	// ErrInvalid means an argument or a message is malformed: a token that
	// cannot go into a subject, a body that is not a valid envelope.
	// Retrying the same input cannot succeed.
	ErrInvalid = errors.New("transport: invalid")

	// ErrUnsupportedVersion means a message body carries a major version
	// this build does not understand. It wraps ErrInvalid too.
	ErrUnsupportedVersion = fmt.Errorf("%w: unsupported message version", ErrInvalid)

	// ErrConflict means the request contradicts existing state: a task type
	// already registered by another agent kind, or a consumer whose filter
	// overlaps another kind's on the work-queue stream.
	ErrConflict = errors.New("transport: conflict")

	// ErrClosed means the Conn was closed.
	ErrClosed = errors.New("transport: connection closed")
)

// wrap adds the operation to err and classifies it: an error that means the
// server did not answer also wraps ErrUnavailable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("transport: %s: %w: %w", op, ErrClosed, err)
	case unavailable(err):
		return fmt.Errorf("transport: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("transport: %s: %w", op, err)
}

func unavailable(err error) bool {
	return errors.Is(err, nats.ErrNoServers) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrConnectionDraining) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrAsyncPublishTimeout) ||
		errors.Is(err, jetstream.ErrTooManyStalledMsgs) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) ||
		errors.Is(err, context.DeadlineExceeded)
}

// apiErrorCode returns the JetStream API error code carried by err, or 0.
func apiErrorCode(err error) jetstream.ErrorCode {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode
	}
	return 0
}
