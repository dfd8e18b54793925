package main

import (
	"context"

	"github.com/ymera/ymera/actors"
)

// PublishBatch makes queue a runner.BatchQueue, so the submitter commits and
// publishes concurrent submissions in groups (runner/submitwriter.go).
func (q queue) PublishBatch(ctx context.Context, ctxs []context.Context, ts []actors.Task) []error {
	return q.c.PublishEach(ctx, ctxs, ts)
}
