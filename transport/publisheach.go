package transport

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
)

// PublishEach is PublishTasks for tasks that come from different callers:
// each message is built from its own context (ctxs[i]: its trace context,
// its selected-route mark, see WithSelectedRoute), while ctx alone bounds
// the wait for the acknowledgements. It is the publish half of the submit
// writer's group commit. It returns one error per task, in order.
func (c *Conn) PublishEach(ctx context.Context, ctxs []context.Context, tasks []actors.Task) []error {
	errs := make([]error, len(tasks))
	futures := make([]jetstream.PubAckFuture, len(tasks))
	for i, t := range tasks {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("transport: publish task %s: %w", t.ID, err)
			continue
		}
		mctx := ctx
		if i < len(ctxs) && ctxs[i] != nil {
			mctx = ctxs[i]
		}
		msg, err := taskMsg(mctx, t)
		if err != nil {
			errs[i] = fmt.Errorf("transport: publish task %s: %w", t.ID, err)
			continue
		}
		f, err := c.js.PublishMsgAsync(msg)
		if err != nil {
			errs[i] = wrap("publish task "+t.ID, err)
			continue
		}
		futures[i] = f
	}
	c.awaitStored(ctx, tasks, futures, errs)
	return errs
}
