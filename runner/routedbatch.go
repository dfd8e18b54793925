package runner

import (
	"context"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// PublishBatch publishes ts, each routed as PublishTask would route it, in
// one round trip when the inner Queue is a BatchQueue (one at a time
// otherwise). The selector's mark travels in each task's own context.
func (q RoutedQueue) PublishBatch(ctx context.Context, ctxs []context.Context, ts []actors.Task) []error {
	routed := make([]actors.Task, len(ts))
	rctxs := make([]context.Context, len(ts))
	for i, t := range ts {
		tctx := ctx
		if i < len(ctxs) && ctxs[i] != nil {
			tctx = ctxs[i]
		}
		if t.AgentID == "" && q.Selector != nil {
			if t.AgentID = q.Selector.Pick(t.Type); t.AgentID != "" {
				tctx = transport.WithSelectedRoute(tctx)
			}
		}
		routed[i], rctxs[i] = t, tctx
	}
	if bq, ok := q.Queue.(BatchQueue); ok {
		return bq.PublishBatch(ctx, rctxs, routed)
	}
	errs := make([]error, len(ts))
	for i, t := range routed {
		// The caller's values (trace, route mark) under ctx's deadline.
		pctx, cancel := context.WithCancel(context.WithoutCancel(rctxs[i]))
		if d, ok := ctx.Deadline(); ok {
			cancel()
			pctx, cancel = context.WithDeadline(context.WithoutCancel(rctxs[i]), d)
		}
		errs[i] = q.Queue.PublishTask(pctx, t)
		cancel()
	}
	return errs
}
