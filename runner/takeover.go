package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// LeaseProbe says whether the message that holds a running task's lease is
// still in the task stream (transport.Conn.TaskMessageHeld).
type LeaseProbe interface {
	TaskMessageHeld(ctx context.Context, seq uint64, taskID string) (bool, error)
}

// takeOver is what a delivery does when its task is running under another
// lease. Usually that lease's delivery is alive, or its message will be
// redelivered, and this one is a duplicate to drop. But when the lease's
// message is gone (moved by a rescue while its node died, or lost with the
// tail of the stream in a crash), no delivery can ever finish the task, and
// this delivery, the task's only message, must take it over: the lost
// attempt is handed back (Requeue, conditional on the old lease, so it
// fails harmlessly if the attempt finished meanwhile) and the task starts
// again under this lease. If the old attempt's worker is in fact still
// running, its Finish now finds another lease and records nothing, so the
// task still has exactly one outcome.
//
// It returns the started task, or ErrConflict when this delivery is the one
// to drop.
func (rt *runtime) takeOver(ctx context.Context, log *slog.Logger, taskID string, lease int64,
	start func() (store.Task, error)) (store.Task, error) {
	conflict := fmt.Errorf("runner: task %s is held by another delivery: %w", taskID, store.ErrConflict)
	if rt.leases == nil {
		return store.Task{}, conflict
	}
	cur, err := rt.tasks.Get(ctx, taskID)
	if err != nil || cur.Status != actors.StatusRunning || cur.Lease == lease || cur.Lease <= 0 {
		return store.Task{}, conflict // final, or changed since: nothing to take over
	}
	held, err := rt.leases.TaskMessageHeld(ctx, uint64(cur.Lease), taskID)
	if err != nil {
		// Cannot tell: keep this delivery for a later look rather than
		// dropping what may be the task's last message.
		return store.Task{}, fmt.Errorf("runner: task %s: look up the message of lease %d: %w",
			taskID, cur.Lease, errors.Join(err, store.ErrUnavailable))
	}
	if held {
		return store.Task{}, conflict
	}
	reason := fmt.Sprintf("the attempt's queue message (lease %d) is gone; taken over by lease %d", cur.Lease, lease)
	if err := rt.tasks.Requeue(ctx, taskID, cur.Lease, reason, rt.now()); err != nil && !errors.Is(err, store.ErrConflict) {
		return store.Task{}, err
	}
	log.WarnContext(ctx, "task's running attempt lost its message; this delivery takes it over", "lost_lease", cur.Lease)
	return start()
}
