package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/store"
)

// The submit outbox (migration 00005): EnqueueBatch (create_batch.go) writes
// an entry with its rows, the submit writer clears it once the messages are
// stored, and the Sweeper reads what was left behind. Entries live for a
// batch's publish, so the table stays a few rows long and is read without an
// index.

// ClearOutbox deletes the outbox entry id; one already gone is no error.
func (r tasks) ClearOutbox(ctx context.Context, id int64) error {
	if _, err := r.db.exec(ctx, `DELETE FROM task_outbox WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: clear outbox entry %d: %w", id, translate(err))
	}
	return nil
}

// Outbox lists the entries created before olderThan, oldest first, with
// their tasks still queued: one read of the entries, one of their tasks.
func (r tasks) Outbox(ctx context.Context, olderThan time.Time, limit int) ([]store.OutboxEntry, error) {
	rows, err := r.db.query(ctx, `SELECT id, task_ids::text[] FROM task_outbox
		WHERE created_at < $1 ORDER BY created_at, id LIMIT $2`, olderThan, store.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", translate(err))
	}
	listings, err := collect(rows, func(row pgx.Row) (store.OutboxListing, error) {
		var l store.OutboxListing
		err := row.Scan(&l.ID, &l.TaskIDs)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", translate(err))
	}
	if len(listings) == 0 {
		return []store.OutboxEntry{}, nil
	}
	rows, err = r.db.query(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE id = ANY($1::uuid[]) AND status = 'queued'`, store.Listed(listings))
	if err != nil {
		return nil, fmt.Errorf("store: read outbox tasks: %w", translate(err))
	}
	queued, err := collect(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("store: read outbox tasks: %w", translate(err))
	}
	return store.FillOutbox(listings, queued), nil
}
