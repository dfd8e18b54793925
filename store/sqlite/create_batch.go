package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// CreateBatch stores many new tasks as pending in one transaction on the
// write connection, the group commit of new rows for the start writer: one
// prepared INSERT per task, the same statement as Create, so each task fares
// exactly as Create called in turn would (ErrConflict for an id that exists,
// also earlier in the same batch). A failed INSERT rolls back only its own
// statement in SQLite, so one bad task does not cost the others; what costs
// is the commit (the WAL sync), and there is one.
func (r tasks) CreateBatch(ctx context.Context, ts []actors.Task) ([]error, error) {
	_, errs, err := r.createBatch(ctx, ts, false)
	return errs, err
}

// EnqueueBatch is CreateBatch with the rows stored as queued and, in the
// same transaction, the outbox entry that lists them; see store.Tasks. Every
// task is inserted by its own statement here, so none is stored apart from
// the entry.
func (r tasks) EnqueueBatch(ctx context.Context, ts []actors.Task) (int64, []error, error) {
	return r.createBatch(ctx, ts, true)
}

// createBatch is CreateBatch, or EnqueueBatch when enqueue is set, which
// returns the outbox entry's id.
func (r tasks) createBatch(ctx context.Context, ts []actors.Task, enqueue bool) (int64, []error, error) {
	errs := make([]error, len(ts))
	if len(ts) == 0 {
		return 0, errs, nil
	}
	now := r.db.now()
	query := insertTaskSQL
	if enqueue {
		query = enqueueTaskSQL
	}
	prepared, err := r.db.writeStmt(ctx, query)
	var outboxStmt *sql.Stmt
	if err == nil && enqueue {
		outboxStmt, err = r.db.writeStmt(ctx, insertOutboxSQL)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("store: create %d tasks: %w", len(ts), translate(err))
	}
	var outbox int64
	err = r.db.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, prepared)
		var inserted []string
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
				inserted = append(inserted, t.ID)
				continue
			}
			terr := translate(err)
			if errors.Is(terr, store.ErrUnavailable) || ctx.Err() != nil {
				return err // the batch as a whole
			}
			errs[i] = fmt.Errorf("store: create task %s: %w", t.ID, terr)
		}
		if !enqueue || len(inserted) == 0 {
			return nil
		}
		list, err := json.Marshal(inserted)
		if err != nil {
			return err
		}
		return tx.StmtContext(ctx, outboxStmt).QueryRowContext(ctx, string(list), timeArg(now)).Scan(&outbox)
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: create %d tasks: %w", len(ts), translate(err))
	}
	return outbox, errs, nil
}

// insertTaskSQL stores a new task as pending; enqueueTaskSQL as queued.
const (
	insertTaskSQL  = insertTaskHead + `'pending')`
	enqueueTaskSQL = insertTaskHead + `'queued')`
	insertTaskHead = `INSERT INTO tasks (id, name, description, task_type, parameters,
	priority, user_id, agent_id, max_attempts, created_at, updated_at, status)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, `
)

// insertOutboxSQL writes an outbox entry: a JSON array of task ids.
const insertOutboxSQL = `INSERT INTO task_outbox (task_ids, created_at) VALUES ($1, $2) RETURNING id`
