package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// CreateBatch stores many new tasks as pending in one transaction on the
// write connection, the group commit of the submit writer: one prepared
// INSERT per task, the same statement as Create, so each task fares exactly
// as Create called in turn would (ErrConflict for an id that exists, also
// earlier in the same batch). A failed INSERT rolls back only its own
// statement in SQLite, so one bad task does not cost the others; what costs
// is the commit (the WAL sync), and there is one.
func (r tasks) CreateBatch(ctx context.Context, ts []actors.Task) ([]error, error) {
	errs := make([]error, len(ts))
	if len(ts) == 0 {
		return errs, nil
	}
	now := r.db.now()
	prepared, err := r.db.writeStmt(ctx, insertTaskSQL)
	if err != nil {
		return nil, fmt.Errorf("store: create %d tasks: %w", len(ts), translate(err))
	}
	err = r.db.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, prepared)
		for i, t := range ts {
			if t.Priority == "" {
				t.Priority = actors.PriorityNormal
			}
			if t.CreatedAt.IsZero() {
				t.CreatedAt = now
			}
			_, err := stmt.ExecContext(ctx, t.ID, t.Name, nullable(t.Description), t.Type, jsonArg(t.Parameters),
				t.Priority, nullable(t.UserID), nullable(t.AgentID), t.MaxAttempts, timeArg(t.CreatedAt))
			if err == nil {
				continue
			}
			terr := translate(err)
			if errors.Is(terr, store.ErrUnavailable) || ctx.Err() != nil {
				return err // the batch as a whole
			}
			errs[i] = fmt.Errorf("store: create task %s: %w", t.ID, terr)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: create %d tasks: %w", len(ts), translate(err))
	}
	return errs, nil
}

// insertTaskSQL stores a new task as pending.
const insertTaskSQL = `INSERT INTO tasks (id, name, description, task_type, parameters,
	priority, user_id, agent_id, max_attempts, created_at, updated_at, status)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 'pending')`
