package supervisor

import (
	"context"
	"time"
)

// Delivery is one message handed to a worker. The worker settles it exactly
// once: Ack after its effect is committed, or Nak to have it delivered again.
type Delivery interface {
	// Data is the message body.
	Data() []byte
	// Ack settles the delivery: it will not be delivered again.
	Ack() error
	// Nak hands the delivery back, to be delivered again after delay.
	Nak(delay time.Duration) error
	// InProgress extends the lease of a long-running delivery.
	InProgress() error
}

// Source supplies deliveries. Fetch returns between 1 and max deliveries, or
// none and a nil error when nothing arrived before its own poll interval ran
// out; it returns early with ctx.Err() when ctx ends.
type Source interface {
	Fetch(ctx context.Context, max int) ([]Delivery, error)
}

// Worker is the per-actor state. The pool makes a new one with NewWorker each
// time an actor starts or restarts, so a worker never outlives a crash.
type Worker interface {
	// Start prepares the worker (an agent's Initialize). An error counts as a
	// failure: the actor is restarted with backoff.
	Start(ctx context.Context) error
	// Handle processes and settles one delivery. A panic restarts the actor
	// and the pool naks the delivery.
	Handle(ctx context.Context, d Delivery)
	// Stop releases the worker's resources (an agent's Cleanup).
	Stop(ctx context.Context)
}
