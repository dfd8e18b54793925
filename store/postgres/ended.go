package postgres

import (
	"context"

	"github.com/ymera/ymera/store"
)

// GetEnded returns the task and its attempts as GetWithAttempts does, for a
// caller that has just learned that the task ended: as that end left it,
// without a statement, if this store recorded the end within ended.Keep
// (FinishBatch keeps the rows it ends while GetEnded is being called;
// package store/internal/ended).
func (r tasks) GetEnded(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	r.db.ended.Ask()
	if validID(id) {
		if t, list, ok := r.db.ended.Get(canonicalID(id)); ok {
			return t, list, nil
		}
	}
	return r.GetWithAttempts(ctx, id)
}
