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
	type entry struct {
		id  int64
		ids []string
	}
	entries, err := collect(rows, func(row scanner) (entry, error) {
		var e entry
		var list string
		if err := row.Scan(&e.id, &list); err != nil {
			return e, err
		}
		return e, json.Unmarshal([]byte(list), &e.ids)
	})
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", translate(err))
	}
	list := make([]store.OutboxEntry, len(entries))
	if len(entries) == 0 {
		return list, nil
	}
	var all []string
	for _, e := range entries {
		all = append(all, e.ids...)
	}
	ids, err := json.Marshal(all)
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
	byID := make(map[string]store.Task, len(queued))
	for _, t := range queued {
		byID[t.ID] = t
	}
	for i, e := range entries {
		list[i] = store.OutboxEntry{ID: e.id, Tasks: []store.Task{}}
		for _, id := range e.ids {
			if t, ok := byID[id]; ok {
				list[i].Tasks = append(list[i].Tasks, t)
			}
		}
	}
	return list, nil
}
