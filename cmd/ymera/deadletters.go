package main

import (
	"context"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
)

// deadLetters serves the gateway's /admin/dlq from the runner's view of
// YMERA_DLQ.
type deadLetters struct{ d *runner.DeadLetters }

func (a deadLetters) DeadLetters(ctx context.Context, limit int) ([]gateway.DeadLetter, error) {
	list, err := a.d.List(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]gateway.DeadLetter, 0, len(list))
	for _, e := range list {
		out = append(out, gateway.DeadLetter{
			TaskID: e.TaskID, TaskType: e.TaskType, Reason: e.Reason, DeadAt: e.At, Deliveries: e.Deliveries,
		})
	}
	return out, nil
}

func (a deadLetters) Replay(ctx context.Context, taskID string) error { return a.d.Replay(ctx, taskID) }
