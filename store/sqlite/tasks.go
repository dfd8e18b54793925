package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// tasks implements store.Tasks. Every transition is one conditional UPDATE
// whose WHERE clause names the state it expects, so two deliveries of the
// same message racing each other cannot both win; a follow-up SELECT runs
// only when nothing matched, to tell a missing task from one in another state.
type tasks struct{ db *DB }

// taskColumns is what scanTask reads, in order.
const taskColumns = `id, name, COALESCE(description, ''), task_type, parameters, priority,
	COALESCE(user_id, ''), COALESCE(agent_id, ''), max_attempts, created_at,
	status, result, COALESCE(error_message, ''), attempts, lease, started_at, completed_at,
	updated_at`

func scanTask(row scanner) (store.Task, error) { return scanTaskAnd(row) }

// scanTaskAnd scans a row of taskColumns followed by the columns of more.
func scanTaskAnd(row scanner, more ...any) (store.Task, error) {
	var t store.Task
	err := row.Scan(append([]any{&t.ID, &t.Name, &t.Description, &t.Type, jsonCol{&t.Parameters}, &t.Priority,
		&t.UserID, &t.AgentID, &t.MaxAttempts, timeCol{&t.CreatedAt},
		&t.Status, jsonCol{&t.Result}, &t.ErrorMessage, &t.Attempts, &t.Lease,
		nullTimeCol{&t.StartedAt}, nullTimeCol{&t.CompletedAt}, timeCol{&t.UpdatedAt}}, more...)...)
	if err != nil {
		return store.Task{}, err
	}
	t.Attempt = t.Attempts // the attempt a Start just counted is the one to run
	return t, nil
}

// Create stores t as pending. An empty priority is normal; a zero CreatedAt
// is now. MaxAttempts is stored as given: zero leaves the limit to the
// runtime's default.
func (r tasks) Create(ctx context.Context, t actors.Task) error {
	_, err := r.db.write.ExecContext(ctx, insertTaskSQL, taskArgs(make([]any, 0, 10), t, r.db.now())...)
	if err != nil {
		return fmt.Errorf("store: create task %s: %w", t.ID, translate(err))
	}
	return nil
}

// Get returns the task with id.
func (r tasks) Get(ctx context.Context, id string) (store.Task, error) {
	st, err := r.db.stmts.stmt(ctx, r.db.read, getTaskSQL)
	if err != nil {
		return store.Task{}, &store.RecordError{Op: "get task", ID: id, Err: translate(err)}
	}
	t, err := scanTask(st.QueryRowContext(ctx, id))
	if err != nil {
		return store.Task{}, &store.RecordError{Op: "get task", ID: id, Err: translate(err)}
	}
	return t, nil
}

// getTaskSQL reads a task by id; attemptsSQL the attempts task_attempts
// holds for it, in order: those the task row no longer describes (see
// migration 00004 and store.WithRowAttempt).
const (
	getTaskSQL  = `SELECT ` + taskColumns + ` FROM tasks WHERE id = $1`
	attemptsSQL = `SELECT attempt, lease, status, COALESCE(error, ''), started_at, finished_at
		FROM task_attempts WHERE task_id = $1 ORDER BY attempt`
)

// List returns the tasks f selects, newest first. A page costs index range
// scans whatever the table size (store.TaskPageSQL).
func (r tasks) List(ctx context.Context, f store.TaskFilter) ([]store.Task, error) {
	var p params
	var conds []string
	if f.UserID != "" {
		conds = append(conds, "user_id = "+p.add(f.UserID))
	}
	if f.Status != "" {
		conds = append(conds, "status = "+p.add(f.Status))
	}
	if f.TaskType != "" {
		conds = append(conds, "task_type = "+p.add(f.TaskType))
	}
	if f.Priority != "" {
		conds = append(conds, "priority = "+p.add(f.Priority))
	}
	if f.Before != "" {
		if !validID(f.Before) {
			return nil, fmt.Errorf("store: list tasks: cursor %q is not a task id", f.Before)
		}
		conds = append(conds, "id < "+p.add(f.Before))
	}
	rows, err := r.db.read.QueryContext(ctx, store.TaskPageSQL(taskColumns, f, conds, p.add(store.Limit(f.Limit))), p...)
	if err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", translate(err))
	}
	list, err := collect(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", translate(err))
	}
	return list, nil
}

// MarkQueued moves the pending tasks among ids to queued in one statement.
// The ids travel as one JSON array, so any number of them binds as one
// parameter.
func (r tasks) MarkQueued(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("store: mark %d tasks queued: %w", len(ids), err)
	}
	st, err := r.db.wstmts.stmt(ctx, r.db.write, markQueuedSQL)
	if err == nil {
		_, err = st.ExecContext(ctx, string(list), timeArg(r.db.now()))
	}
	if err != nil {
		return fmt.Errorf("store: mark %d tasks queued: %w", len(ids), translate(err))
	}
	return nil
}

// startSQL is Start's conditional UPDATE, which StartBatch prepares too.
const startSQL = `UPDATE tasks
	SET status = 'running', lease = $2, attempts = attempts + 1,
		started_at = COALESCE(started_at, $3), updated_at = $3
	WHERE id = $1 AND (status IN ('pending', 'queued') OR (status = 'running' AND lease = $2))
	RETURNING ` + taskColumns

// Start moves a task to running under lease and counts the attempt.
// started_at records the first start only, so completed_at - started_at is
// the task's whole time in the hands of agents, retries included;
// updated_at shows when the latest attempt began.
func (r tasks) Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error) {
	t, err := scanTask(r.db.write.QueryRowContext(ctx, startSQL, id, lease, timeArg(now)))
	if err == nil {
		return t, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = r.miss(ctx, id)
	}
	return store.Task{}, fmt.Errorf("store: start task %s under lease %d: %w", id, lease, translate(err))
}

// Finish records the outcome of the attempt holding lease; with
// o.StartedAt, also of a first attempt whose start it records with it, on a
// task never started.
func (r tasks) Finish(ctx context.Context, id string, lease int64, o store.Outcome, now time.Time) error {
	if !o.Status.Final() {
		return fmt.Errorf("store: finish task %s: outcome status %q is not final", id, o.Status)
	}
	res, err := r.db.write.ExecContext(ctx, finishSQL,
		id, lease, o.Status, jsonArg(o.Result), nullable(o.ErrorMessage), timeArg(now), startedArg(o))
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = r.miss(ctx, id)
		}
	}
	if err != nil {
		return fmt.Errorf("store: finish task %s under lease %d: %w", id, lease, translate(err))
	}
	return nil
}

// Requeue hands the attempt holding lease back to the queue, keeping errMsg.
func (r tasks) Requeue(ctx context.Context, id string, lease int64, errMsg string, now time.Time) error {
	res, err := r.db.write.ExecContext(ctx, `UPDATE tasks
		SET status = 'queued', error_message = $3, updated_at = $4
		WHERE id = $1 AND status = 'running' AND lease = $2`,
		id, lease, nullable(errMsg), timeArg(now))
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = r.miss(ctx, id)
		}
	}
	if err != nil {
		return fmt.Errorf("store: requeue task %s under lease %d: %w", id, lease, translate(err))
	}
	return nil
}

// Abandon fails a task whose message was never confirmed stored: pending
// (Create) or queued and never started (EnqueueBatch).
func (r tasks) Abandon(ctx context.Context, id string, reason string, now time.Time) error {
	res, err := r.db.write.ExecContext(ctx, `UPDATE tasks
		SET status = 'failed', error_message = $2, completed_at = $3, updated_at = $3
		WHERE id = $1 AND (status = 'pending' OR (status = 'queued' AND attempts = 0))`,
		id, nullable(reason), timeArg(now))
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = r.miss(ctx, id)
		}
	}
	if err != nil {
		return fmt.Errorf("store: abandon task %s: %w", id, translate(err))
	}
	return nil
}

// Pending lists tasks still pending that were created before olderThan,
// oldest first. The literal status lets the planner use the partial index on
// pending tasks; INDEXED BY insists on it, because without statistics
// SQLite prefers an index on status and sorts every pending task.
func (r tasks) Pending(ctx context.Context, olderThan time.Time, limit int) ([]store.Task, error) {
	rows, err := r.db.read.QueryContext(ctx, `SELECT `+taskColumns+` FROM tasks INDEXED BY idx_tasks_pending_created_at
		WHERE status = 'pending' AND created_at < $1
		ORDER BY created_at, id LIMIT $2`, timeArg(olderThan), store.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list pending tasks: %w", translate(err))
	}
	list, err := collect(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("store: list pending tasks: %w", translate(err))
	}
	return list, nil
}

// miss explains why a conditional transition matched no row: the task does
// not exist (store.ErrNotFound) or is in another state (store.ErrConflict).
func (r tasks) miss(ctx context.Context, id string) error {
	var status actors.Status
	var lease int64
	err := r.db.read.QueryRowContext(ctx, `SELECT status, lease FROM tasks WHERE id = $1`, id).Scan(&status, &lease)
	if err != nil {
		return translate(err)
	}
	return fmt.Errorf("%w: task is %s (lease %d)", store.ErrConflict, status, lease)
}

// markQueuedSQL marks the pending tasks of a JSON array of ids queued.
const markQueuedSQL = `UPDATE tasks SET status = 'queued', updated_at = $2
	WHERE id IN (SELECT value FROM json_each($1)) AND status = 'pending'`
