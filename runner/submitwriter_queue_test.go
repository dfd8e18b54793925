package runner_test

import (
	"context"

	"github.com/ymera/ymera/actors"
)

// PublishBatch makes the tests' queue a runner.BatchQueue, so every test
// that submits through b.submitter() takes the group-commit path.
func (q queue) PublishBatch(ctx context.Context, ctxs []context.Context, ts []actors.Task) []error {
	return q.c.PublishEach(ctx, ctxs, ts)
}
