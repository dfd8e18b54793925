package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// Dead letters. A message that keeps crashing its actor (a panic naks it,
// an actor that hangs lets its ack deadline pass) is delivered at most
// MaxDeliver times. JetStream then announces it with a max-deliveries
// advisory, and keeps the message in the work-queue stream where no
// consumer will ever see it again.
//
// Advisories are core NATS messages, lost when nobody listens, so
// transport.Setup captures them in the work-queue stream
// YMERA_DEAD_ADVISORIES and every node's DeadLetterWatcher takes them from
// one shared durable consumer. An advisory is acknowledged only after its
// task is dead_letter in the store and its message moved to YMERA_DLQ;
// until then it is delivered again, to this node or another, even after a
// crash, so no separate sweep of the work stream is needed.

// DeadLetterStore is the part of store.Tasks the watcher writes through.
type DeadLetterStore interface {
	Create(ctx context.Context, t actors.Task) error
	Get(ctx context.Context, id string) (store.Task, error)
	DeadLetter(ctx context.Context, id string, reason string, now time.Time) error
}

// DeadLetterWatcher moves tasks that ran out of deliveries to YMERA_DLQ and
// marks them dead_letter.
type DeadLetterWatcher struct {
	Conn   *transport.Conn
	Tasks  DeadLetterStore
	Events EventPublisher
	Logger *slog.Logger
	// Wait is how long one fetch waits for advisories (default 5 s).
	Wait time.Duration
}

// Run handles advisories until ctx ends. It returns only ctx's error, or
// the error declaring the advisory consumer.
func (w *DeadLetterWatcher) Run(ctx context.Context) error {
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	wait := orDefault(w.Wait, 5*time.Second)
	advs, err := w.Conn.EnsureDeadAdvisories(ctx)
	if err != nil {
		return fmt.Errorf("runner: dead-letter watcher: %w", err)
	}
	failures := 0
	for ctx.Err() == nil {
		ds, err := advs.Fetch(ctx, 16, wait)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			w.Logger.WarnContext(ctx, "fetching max-deliveries advisories failed", "error", err)
			if !sleepCtx(ctx, min(time.Duration(failures)*time.Second, 30*time.Second)) {
				break
			}
			continue
		}
		failures = 0
		for _, d := range ds {
			if err := w.handle(ctx, d.Advisory); err != nil {
				w.Logger.WarnContext(ctx, "could not dead-letter a task; retrying later",
					"seq", d.Advisory.StreamSeq, "consumer", d.Advisory.Consumer, "error", err)
				_ = d.Nak(time.Second + rand.N(time.Second))
				continue
			}
			_ = d.Ack()
		}
	}
	return ctx.Err()
}

// handle dead-letters the task of one advisory. Every step is idempotent,
// so an advisory handled twice (a crash before its ack) changes nothing
// more.
func (w *DeadLetterWatcher) handle(ctx context.Context, adv transport.MaxDeliveriesAdvisory) error {
	msg, found, err := w.Conn.StoredTask(ctx, adv.StreamSeq)
	reason := fmt.Sprintf("delivered %d times without an outcome (the agent crashed or never answered)", adv.Deliveries)
	switch {
	case !found && err == nil:
		return nil // moved or acknowledged already
	case err != nil && !errors.Is(err, transport.ErrInvalid):
		return err
	case err != nil:
		// Undecodable: no task to mark; keep the message for an operator.
		return w.Conn.DeadLetterDelivered(ctx, adv.StreamSeq, "undecodable task message: "+reason, adv.Deliveries)
	}

	err = w.Tasks.DeadLetter(ctx, msg.ID, reason, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		// Published straight to NATS and never started: make its row so
		// that it can be listed and replayed.
		if msg.MaxAttempts <= 0 {
			msg.MaxAttempts = 1
		}
		if cerr := w.Tasks.Create(ctx, msg); cerr != nil && !errors.Is(cerr, store.ErrConflict) {
			return cerr
		}
		err = w.Tasks.DeadLetter(ctx, msg.ID, reason, time.Now())
	}
	if errors.Is(err, store.ErrConflict) {
		t, gerr := w.Tasks.Get(ctx, msg.ID)
		if gerr != nil {
			return gerr
		}
		if t.Status != actors.StatusDeadLetter {
			// Final with an outcome (its ack was lost): nothing to keep.
			return w.Conn.DropTask(ctx, adv.StreamSeq)
		}
		err = nil // dead_letter already: finish the move
	}
	if err != nil {
		return err
	}
	if err := w.Conn.DeadLetterDelivered(ctx, adv.StreamSeq, reason, adv.Deliveries); err != nil {
		return err
	}
	w.Logger.WarnContext(ctx, "task dead-lettered", "task_id", msg.ID, "task_type", msg.Type, "deliveries", adv.Deliveries)
	publishEvent(ctx, w.Events, w.Logger, taskEvent("task.dead_letter", msg, actors.StatusDeadLetter, nil))
	return nil
}

// ReviveStore is the part of store.Tasks a replay writes through.
type ReviveStore interface {
	Revive(ctx context.Context, id string, now time.Time) error
	MarkQueued(ctx context.Context, ids ...string) error
}

// DeadLetters lists and replays YMERA_DLQ for admins.
type DeadLetters struct {
	Conn   *transport.Conn
	Tasks  ReviveStore
	Events EventPublisher
	Logger *slog.Logger
}

// List returns up to limit dead letters, oldest first.
func (d *DeadLetters) List(ctx context.Context, limit int) ([]transport.DeadLetterEntry, error) {
	list, err := d.Conn.DeadLetters(ctx, 0, limit)
	if err != nil {
		return nil, fmt.Errorf("runner: list dead letters: %w: %w", store.ErrUnavailable, err)
	}
	return list, nil
}

// Replay runs a dead-lettered task again: the task goes back to pending
// with its attempts kept, its message is published again (a new message,
// so a fresh lease), the DLQ entry is deleted, and the task is marked
// queued. If the process dies after the first step, the Sweeper publishes
// the pending task. ErrNotFound when the task has no DLQ entry;
// ErrConflict when the task is not dead_letter.
func (d *DeadLetters) Replay(ctx context.Context, taskID string) error {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, found, err := d.Conn.FindDeadLetter(ctx, taskID)
	if err != nil {
		return fmt.Errorf("runner: replay task %s: %w: %w", taskID, store.ErrUnavailable, err)
	}
	if !found {
		return fmt.Errorf("runner: replay task %s: %w: no dead letter", taskID, store.ErrNotFound)
	}
	if err := d.Tasks.Revive(ctx, taskID, time.Now()); err != nil {
		return fmt.Errorf("runner: replay task %s: %w", taskID, err)
	}
	if err := d.Conn.ReplayDeadLetter(ctx, e); err != nil {
		return fmt.Errorf("runner: replay task %s: %w: %w", taskID, store.ErrUnavailable, err)
	}
	if err := d.Tasks.MarkQueued(ctx, taskID); err != nil {
		log.WarnContext(ctx, "replayed task not marked queued; the sweeper will confirm it", "task_id", taskID, "error", err)
	}
	log.InfoContext(ctx, "dead letter replayed", "task_id", taskID, "task_type", e.TaskType)
	publishEvent(ctx, d.Events, log, taskEvent("task.queued", actors.Task{ID: taskID, Type: e.TaskType}, actors.StatusQueued, nil))
	return nil
}

// sleepCtx waits for d or until ctx ends, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
