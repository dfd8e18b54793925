package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ymera/ymera/store"
)

// The submit outbox (migration 00005): EnqueueBatch (create_batch.go) writes
// an entry with its rows, the submit writer clears it once the messages are
// stored, and the Sweeper reads what was left behind. Entries live for a
// batch's publish, so the table stays a few rows long and is read without an
// index.

// clearOutboxSQL deletes an outbox entry.
const clearOutboxSQL = `DELETE FROM task_outbox WHERE id = $1`

// ClearOutbox deletes the outbox entry id; one already gone is no error.
// It runs once per submit batch, so its statement stays prepared.
func (r tasks) ClearOutbox(ctx context.Context, id int64) error {
	st, err := r.db.writeStmt(ctx, clearOutboxSQL)
	if err == nil {
		_, err = st.ExecContext(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("store: clear outbox entry %d: %w", id, translate(err))
	}
	return nil
}

// Outbox lists the entries created before olderThan, oldest first, with
// their tasks still queued: one read of the entries, one of their tasks.
func (r tasks) Outbox(ctx context.Context, olderThan time.Time, limit int) ([]store.OutboxEntry, error) {
	rows, err := r.db.read.QueryContext(ctx, `SELECT id, task_ids FROM task_outbox
		WHERE created_at < $1 ORDER BY created_at, id LIMIT $2`, timeArg(olderThan), store.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", translate(err))
	}
	listings, err := collect(rows, func(row scanner) (store.OutboxListing, error) {
		var l store.OutboxListing
		var list string
		if err := row.Scan(&l.ID, &list); err != nil {
			return l, err
		}
		return l, json.Unmarshal([]byte(list), &l.TaskIDs)
	})
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", translate(err))
	}
	if len(listings) == 0 {
		return []store.OutboxEntry{}, nil
	}
	ids, err := json.Marshal(store.Listed(listings))
	if err != nil {
		return nil, fmt.Errorf("store: read outbox tasks: %w", err)
	}
	rows, err = r.db.read.QueryContext(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE id IN (SELECT value FROM json_each($1)) AND status = 'queued'`, string(ids))
	if err != nil {
		return nil, fmt.Errorf("store: read outbox tasks: %w", translate(err))
	}
	queued, err := collect(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("store: read outbox tasks: %w", translate(err))
	}
	return store.FillOutbox(listings, queued), nil
}
