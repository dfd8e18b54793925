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

// maxOutageWait caps the wait between tries of a store that does not answer.
const maxOutageWait = 5 * time.Second

// startHeld starts the task like start, but while the store is unavailable
// it keeps the delivery (telling JetStream it is in progress) and tries
// again with backoff, instead of handing the message back. A hand-back
// counts as a delivery, and MaxDeliver of them during one database outage
// would dead-letter healthy tasks by the hundred; held, every worker waits
// on one message (which is all it could do anyway) and the backlog drains
// when the store is back. It gives up only when ctx ends (the node stops),
// returning the last error for the caller to hand the message back.
func (rt *runtime) startHeld(ctx context.Context, d supervisor.Delivery, log *slog.Logger,
	msg actors.Task, lease int64) (store.Task, error) {
	wait := 250 * time.Millisecond
	var since time.Time
	for {
		st, err := rt.start(ctx, msg, lease, !rowCommitted(d))
		if !errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
			if !since.IsZero() && err == nil {
				log.InfoContext(ctx, "store answers again; task started", "waited", time.Since(since))
			}
			return st, err
		}
		if since.IsZero() {
			since = time.Now()
			log.WarnContext(ctx, "store unavailable; holding the task until it answers", "error", err)
		}
		_ = d.InProgress()
		select {
		case <-ctx.Done():
			return st, err
		case <-time.After(wait):
		}
		wait = min(2*wait, maxOutageWait, rt.ackWait/3)
	}
}

// commitHeld runs commit (an attempt's outcome) and, while the store is
// unavailable, keeps the delivery and tries again with backoff instead of
// handing the message back, for the reason startHeld gives: a hand-back per
// failed commit would burn MaxDeliver during an outage and redo finished
// work. Each try gets settleTimeout under detached (node's values, not its
// cancellation); the hold ends when node does (the node is stopping), and
// then the last verdict, a hand-back, stands.
func (rt *runtime) commitHeld(node, detached context.Context, d supervisor.Delivery, log *slog.Logger,
	commit func(context.Context) verdict) verdict {
	wait := 250 * time.Millisecond
	var since time.Time
	for {
		ctx, cancel := context.WithTimeout(detached, settleTimeout)
		v := commit(ctx)
		cancel()
		if v.answer != answerNak || !errors.Is(v.err, store.ErrUnavailable) || node.Err() != nil {
			if !since.IsZero() {
				log.Info("store answers again; outcome settled", "waited", time.Since(since))
			}
			return v
		}
		if since.IsZero() {
			since = time.Now()
			log.Warn("store unavailable; holding the finished task until it answers", "error", v.err)
		}
		_ = d.InProgress()
		select {
		case <-node.Done():
			return v
		case <-time.After(wait):
		}
		wait = min(2*wait, maxOutageWait, rt.ackWait/3)
	}
}
