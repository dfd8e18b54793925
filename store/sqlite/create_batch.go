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
	_, _, errs, err := r.createBatch(ctx, ts, insertion{})
	return errs, err
}

// EnqueueBatch is CreateBatch with the rows stored as queued and, in the
// same transaction, the outbox entry that lists them; see store.Tasks. Every
// task is inserted by its own statement here, so none is stored apart from
// the entry.
func (r tasks) EnqueueBatch(ctx context.Context, ts []actors.Task) (int64, []error, error) {
	outbox, _, errs, err := r.createBatch(ctx, ts, insertion{enqueue: true})
	return outbox, errs, err
}

// CreateStarted is CreateBatch with each row stored running under its
// item's lease, its first attempt counted, by one prepared INSERT per task
// in one transaction; see store.Tasks. The attempt history needs nothing
// more: the running attempt is read from the row, as after Start
// (store.WithRowAttempt).
func (r tasks) CreateStarted(ctx context.Context, items []store.NewStart) ([]store.Task, []error, error) {
	_, started, errs, err := r.createBatch(ctx, store.StartedTasks(items), insertion{starts: items})
	return started, errs, err
}

// insertion says how createBatch stores its rows: pending (the zero value,
// CreateBatch), queued with an outbox entry (enqueue, EnqueueBatch), or
// running (CreateStarted), ts[i] started as starts[i] says.
type insertion struct {
	enqueue bool
	starts  []store.NewStart
}

// createBatch is CreateBatch, EnqueueBatch or CreateStarted, as how says.
// It returns the outbox entry's id (EnqueueBatch) and the tasks stored
// started (CreateStarted; nil otherwise).
func (r tasks) createBatch(ctx context.Context, ts []actors.Task, how insertion) (int64, []store.Task, []error, error) {
	errs := make([]error, len(ts))
	var started []store.Task
	if how.starts != nil {
		started = make([]store.Task, len(ts))
	}
	if len(ts) == 0 {
		return 0, started, errs, nil
	}
	now := r.db.now()
	query := insertTaskSQL
	switch {
	case how.enqueue:
		query = enqueueTaskSQL
	case how.starts != nil:
		query = insertStartedSQL
	}
	prepared, err := r.db.writeStmt(ctx, query)
	var outboxStmt *sql.Stmt
	if err == nil && how.enqueue {
		outboxStmt, err = r.db.writeStmt(ctx, insertOutboxSQL)
	}
	if err != nil {
		return 0, nil, nil, fmt.Errorf("store: create %d tasks: %w", len(ts), translate(err))
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
			args := []any{t.ID, t.Name, nullable(t.Description), t.Type, jsonArg(t.Parameters),
				t.Priority, nullable(t.UserID), nullable(t.AgentID), t.MaxAttempts, timeArg(t.CreatedAt)}
			var err error
			if how.starts != nil {
				started[i], err = scanTask(stmt.QueryRowContext(ctx,
					append(args, how.starts[i].Lease, timeArg(how.starts[i].At))...))
			} else {
				_, err = stmt.ExecContext(ctx, args...)
			}
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
		if !how.enqueue || len(inserted) == 0 {
			return nil
		}
		list, err := json.Marshal(inserted)
		if err != nil {
			return err
		}
		return tx.StmtContext(ctx, outboxStmt).QueryRowContext(ctx, string(list), timeArg(now)).Scan(&outbox)
	})
	if err != nil {
		return 0, nil, nil, fmt.Errorf("store: create %d tasks: %w", len(ts), translate(err))
	}
	return outbox, started, errs, nil
}

// insertTaskSQL stores a new task as pending, as Create does;
// enqueueTaskSQL as queued; insertStartedSQL as running under the lease $11
// since $12, its first attempt counted, and returns it as Start does.
const (
	insertTaskSQL    = insertTaskHead + `'pending', $10, 0, 0, NULL)`
	enqueueTaskSQL   = insertTaskHead + `'queued', $10, 0, 0, NULL)`
	insertStartedSQL = insertTaskHead + `'running', $12, 1, $11, $12)
	RETURNING ` + taskColumns
	insertTaskHead = `INSERT INTO tasks (id, name, description, task_type, parameters,
	priority, user_id, agent_id, max_attempts, created_at, status, updated_at, attempts, lease, started_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, `
)

// insertOutboxSQL writes an outbox entry: a JSON array of task ids.
const insertOutboxSQL = `INSERT INTO task_outbox (task_ids, created_at) VALUES ($1, $2) RETURNING id`
