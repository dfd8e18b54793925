package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/supervisor"
)

// Most tasks end within milliseconds of their delivery, and recording
// their start before running them cost a third of the database's work per
// task: a write whose row the outcome rewrites at once. A first delivery
// of a task whose row is committed (never started, so its first attempt is
// beyond doubt) therefore runs at once, and its start is recorded only if
// the attempt is still running after the node's start delay
// (NodeConfig.StartDelay, AGENT_RECORD_START_AFTER, 50 ms by default). An
// attempt that succeeds sooner is recorded in one write that takes the row
// from queued straight to completed, counting the attempt and its start
// time (store.Outcome.StartedAt); its watchers see task.queued, then
// task.completed, without task.started.
//
// Nothing else changes: the delivery is acknowledged only after that
// commit, and the write applies only to a row never started (queued or
// pending, no attempts), so a task cancelled meanwhile, or run before by
// a message this one repeats, is not overwritten; settle then begins the
// attempt as any delivery does and commits under that start (or drops the
// outcome when the task is final or held elsewhere). Outcomes other than
// success record the start first and then commit as usual, since a retry
// is decided from the attempts the row counts. A node that crashes within
// the delay leaves the row queued, and the redelivery begins the task's
// first recorded attempt. What the delay does give up: a second message
// for the task that claims a committed row is run as well, since nothing
// asks the store first (until the delay, when its start is refused and
// the run cancelled); only one of the two outcomes is recorded. YMERA
// itself publishes such a copy only from the Sweeper, after a crash or a
// store failure, and marks it (transport.HeaderRepublished): a marked
// message is never deferred, so its conditional start drops it before
// the agent runs when the task was started or ended meanwhile.
//
// A task published straight to NATS has no row until a delivery makes
// one, and its first delivery is deferred too when the store has none
// (mayDefer looks): an attempt that succeeds within the delay makes the
// row with its outcome, completed with its one attempt, in one write
// (store.Tasks.CreateFinished) where the row would otherwise be inserted
// running and then updated; its watchers see task.completed alone. An id
// taken meanwhile sends the delivery down the same path as a conflict
// above. A node that crashes within the delay leaves no row, and the
// redelivery makes it running as before. Two copies of such a message
// delivered within one delay both run the agent, as above; a copy
// delivered later finds the row and does not.
//
// Since the store is not asked about a committed row before the agent
// runs, a task cancelled while queued is kept from running by the cancel
// list instead (ymera_cancels, which the Canceller fills and every node
// mirrors): a node defers only the starts of tasks its list is current
// about and does not hold, and a cancel that crosses a delivery in the same
// instant reaches the agent as a cancel request.

// defaultStartDelay is how long an attempt runs before its start is
// recorded, when NodeConfig.StartDelay is zero: long enough for most
// tasks that need no outside call to end first, short against what a
// person watching a task could notice, or an AckWait.
const defaultStartDelay = 50 * time.Millisecond

// cancelList is what a node knows of the tasks cancelled before they
// started (transport.CancelView).
type cancelList interface {
	Cancelled(taskID string) (cancelled, known bool)
}

// mayDefer says the attempt d holds may run before its start is recorded:
// the message's first delivery, of a task the node knows was not
// cancelled, and either of a committed row, or, for a message that claims
// none (published straight to NATS), of a task that has no row yet. fresh
// says it is the latter: the outcome then makes the row.
//
// A message that claims no row may still have one: a copy of a message
// whose task ran before. The row is what keeps such a copy from running the
// task again, so the store is asked; on PostgreSQL concurrent reads share a
// statement, so this costs a lookup by key in a batch, not a round trip.
func (rt *runtime) mayDefer(ctx context.Context, d supervisor.Delivery, taskID string, lease int64) (ok, fresh bool) {
	if rt.startDelay <= 0 || rt.cancelList == nil || lease <= 0 || !firstDelivery(d) {
		return false, false
	}
	if cancelled, known := rt.cancelList.Cancelled(taskID); !known || cancelled {
		return false, false
	}
	if republished(d) {
		return false, false // perhaps a copy: the store decides first
	}
	if rowCommitted(d) {
		return true, false
	}
	if rt.createFinished == nil {
		return false, false
	}
	_, err := rt.tasks.Get(ctx, taskID)
	return errors.Is(err, store.ErrNotFound), true
}

// republished says d's message is a copy that may repeat an earlier one
// (transport.HeaderRepublished).
func republished(d supervisor.Delivery) bool {
	r, ok := d.(interface{ Republished() bool })
	return ok && r.Republished()
}

// firstDelivery says d is its message's first delivery. A delivery that
// cannot say is taken not to be.
func firstDelivery(d supervisor.Delivery) bool {
	n, ok := d.(interface{ NumDelivered() uint64 })
	return ok && n.NumDelivered() == 1
}

// attempt is the attempt a delivery settles: the task as its recorded
// start left it, or, for a deferred start, the task as its message tells
// it, with when the attempt began.
type attempt struct {
	store.Task
	// began is when a deferred attempt began, its start not recorded; zero
	// for a recorded start.
	began time.Time
	// fresh says a deferred attempt's message claims no committed row (a
	// task published straight to NATS): its outcome makes the row.
	fresh bool
}

// deferred says a's start was not recorded.
func (a attempt) deferred() bool { return !a.began.IsZero() }

// errStartRefused cancels an attempt whose deferred start found the task
// final or held by another delivery: its outcome would be dropped.
var errStartRefused = errors.New("runner: the task is final or held by another delivery")

// handleDeferred runs a first delivery before recording its start; see
// above. fresh is mayDefer's.
func (w *worker) handleDeferred(ctx context.Context, d supervisor.Delivery, log *slog.Logger, msg actors.Task,
	lease int64, fresh bool) {
	rt := w.rt
	began := rt.now()
	runCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)

	var (
		done = make(chan struct{})
		st   store.Task
		err  error
	)
	timer := time.AfterFunc(rt.startDelay, func() {
		defer close(done)
		st, err = rt.begin(ctx, d, log, msg, lease)
		if errors.Is(err, store.ErrConflict) {
			abort(errStartRefused)
		}
	})
	defer func() {
		if p := recover(); p != nil {
			// The agent panicked. Put the attempt on the record, as its
			// start would be had it run longer, so that the redelivery
			// counts it crashed (attempt history); the supervisor then
			// hands the message back and restarts the actor.
			if timer.Stop() {
				_, _ = rt.begin(ctx, d, log, msg, lease)
			} else {
				<-done
			}
			panic(p)
		}
	}()
	task := msg
	task.Attempt = 1
	res, perr, timedOut := w.process(ctx, runCtx, abort, d, task)

	if timer.Stop() {
		// The start was never recorded.
		switch {
		case stopping(ctx, perr, timedOut):
			_ = d.Nak(0)
			return
		case perr == nil && !timedOut:
			a := attempt{Task: store.Task{Task: msg, Lease: lease, Attempts: 1}, began: began, fresh: fresh}
			rt.settleAsync(ctx, log, d, a, res, perr, timedOut)
			return
		}
		st, err = rt.begin(ctx, d, log, msg, lease)
	} else {
		<-done
	}
	if err != nil {
		rt.refuse(ctx, d, log, err)
		return
	}
	if stopping(ctx, perr, timedOut) {
		_ = d.Nak(0)
		return
	}
	rt.settleAsync(ctx, log, d, attempt{Task: st}, res, perr, timedOut)
}
