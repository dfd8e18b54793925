package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	COALESCE(user_id::text, ''), COALESCE(agent_id::text, ''), max_attempts, created_at,
	status, result, COALESCE(error_message, ''), attempts, lease, started_at, completed_at,
	updated_at`

func scanTask(row pgx.Row) (store.Task, error) {
	var t store.Task
	var parameters, result []byte
	if err := row.Scan(taskDest(&t, &parameters, &result)...); err != nil {
		return store.Task{}, err
	}
	finishScan(&t, parameters, result)
	return t, nil
}

// taskDest is the scan destination of taskColumns, in order.
func taskDest(t *store.Task, parameters, result *[]byte) []any {
	return []any{&t.ID, &t.Name, &t.Description, &t.Type, parameters, &t.Priority,
		&t.UserID, &t.AgentID, &t.MaxAttempts, &t.CreatedAt,
		&t.Status, result, &t.ErrorMessage, &t.Attempts, &t.Lease, &t.StartedAt, &t.CompletedAt,
		&t.UpdatedAt}
}

func finishScan(t *store.Task, parameters, result []byte) {
	t.Parameters = jsonValue(parameters)
	t.Result = jsonValue(result)
	t.Attempt = t.Attempts // the attempt a Start just counted is the one to run
}

// Create stores t as pending. An empty priority is normal; a zero CreatedAt
// is now. MaxAttempts is stored as given: zero leaves the limit to the
// runtime's default.
func (r tasks) Create(ctx context.Context, t actors.Task) error {
	if t.Priority == "" {
		t.Priority = actors.PriorityNormal
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = r.db.now()
	}
	_, err := r.db.exec(ctx, `INSERT INTO tasks (id, name, description, task_type, parameters,
		priority, user_id, agent_id, max_attempts, created_at, updated_at, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 'pending')`,
		t.ID, t.Name, nullable(t.Description), t.Type, jsonArg(t.Parameters),
		t.Priority, nullable(t.UserID), nullable(t.AgentID), t.MaxAttempts, t.CreatedAt)
	if err != nil {
		return fmt.Errorf("store: create task %s: %w", t.ID, translate(err))
	}
	return nil
}

// Get returns the task with id.
func (r tasks) Get(ctx context.Context, id string) (store.Task, error) {
	if !validID(id) {
		return store.Task{}, &store.RecordError{Op: "get task", ID: id, Err: store.ErrNotFound}
	}
	t, _, err := r.db.reads.get(ctx, id)
	if err != nil {
		return store.Task{}, &store.RecordError{Op: "get task", ID: id, Err: err}
	}
	return t, nil
}

// List returns the tasks f selects, newest first. A page costs index range
// scans whatever the table size (store.TaskPageSQL).
func (r tasks) List(ctx context.Context, f store.TaskFilter) ([]store.Task, error) {
	var p params
	var conds []string
	if f.UserID != "" {
		if !validID(f.UserID) {
			return []store.Task{}, nil
		}
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
	rows, err := r.db.query(ctx, store.TaskPageSQL(taskColumns, f, conds, p.add(store.Limit(f.Limit))), p...)
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
func (r tasks) MarkQueued(ctx context.Context, ids ...string) error {
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if validID(id) { // anything else names no task
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return nil
	}
	// SKIP LOCKED: a row another transaction holds is being started (or
	// taken back) and needs no mark, and never waiting keeps this many-row
	// update out of lock cycles with FinishBatch and Start. The mark is best
	// effort anyway: a row left pending is confirmed by the Sweeper.
	_, err := r.db.exec(ctx, `UPDATE tasks SET status = 'queued', updated_at = $2
		WHERE id IN (SELECT id FROM tasks WHERE id = ANY($1::uuid[]) AND status = 'pending'
			FOR UPDATE SKIP LOCKED)`, valid, r.db.now())
	if err != nil {
		return fmt.Errorf("store: mark %d tasks queued: %w", len(valid), translate(err))
	}
	return nil
}

// Start moves a task to running under lease and counts the attempt.
// started_at records the first start only, so completed_at - started_at is
// the task's whole time in the hands of agents, retries included;
// updated_at shows when the latest attempt began.
func (r tasks) Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error) {
	if !validID(id) {
		return store.Task{}, fmt.Errorf("store: start task %s: %w", id, store.ErrNotFound)
	}
	t, err := scanTask(r.db.queryRow(ctx, `UPDATE tasks
		SET status = 'running', lease = $2, attempts = attempts + 1,
			started_at = COALESCE(started_at, $3), updated_at = $3
		WHERE id = $1 AND (status IN ('pending', 'queued') OR (status = 'running' AND lease = $2))
		RETURNING `+taskColumns, id, lease, now))
	if err == nil {
		return t, nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = r.miss(ctx, id)
	}
	return store.Task{}, fmt.Errorf("store: start task %s under lease %d: %w", id, lease, translate(err))
}

// Finish records the outcome of the attempt holding lease; with
// o.StartedAt, also of a first attempt whose start it records with it, on a
// task never started. The status tests are wrapped as finishBatchSQL's are
// (see inRounds).
func (r tasks) Finish(ctx context.Context, id string, lease int64, o store.Outcome, now time.Time) error {
	if !o.Status.Final() {
		return fmt.Errorf("store: finish task %s: outcome status %q is not final", id, o.Status)
	}
	if !validID(id) {
		return fmt.Errorf("store: finish task %s: %w", id, store.ErrNotFound)
	}
	tag, err := r.db.exec(ctx, `UPDATE tasks
		SET status = $3, result = $4, error_message = $5, completed_at = $6, updated_at = $6,
			attempts = CASE WHEN status = 'running' THEN attempts ELSE 1 END,
			lease = $2, started_at = COALESCE(started_at, $7)
		WHERE id = $1 AND (((status = 'running') IS TRUE AND lease = $2)
			OR ($7::timestamptz IS NOT NULL AND (status IN ('pending', 'queued')) IS TRUE
				AND attempts = 0))`,
		id, lease, o.Status, jsonArg(o.Result), nullable(o.ErrorMessage), now, startedArg(o))
	if err == nil && tag.RowsAffected() == 0 {
		err = r.miss(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("store: finish task %s under lease %d: %w", id, lease, translate(err))
	}
	return nil
}

// startedArg passes o.StartedAt, the start of an attempt Start did not
// record, zero as SQL NULL.
func startedArg(o store.Outcome) *time.Time {
	if o.StartedAt.IsZero() {
		return nil
	}
	return &o.StartedAt
}

// Requeue hands the attempt holding lease back to the queue, keeping errMsg.
func (r tasks) Requeue(ctx context.Context, id string, lease int64, errMsg string, now time.Time) error {
	if !validID(id) {
		return fmt.Errorf("store: requeue task %s: %w", id, store.ErrNotFound)
	}
	tag, err := r.db.exec(ctx, `UPDATE tasks
		SET status = 'queued', error_message = $3, updated_at = $4
		WHERE id = $1 AND status = 'running' AND lease = $2`,
		id, lease, nullable(errMsg), now)
	if err == nil && tag.RowsAffected() == 0 {
		err = r.miss(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("store: requeue task %s under lease %d: %w", id, lease, translate(err))
	}
	return nil
}

// Abandon fails a task whose message was never confirmed stored: pending
// (Create) or queued and never started (EnqueueBatch).
func (r tasks) Abandon(ctx context.Context, id string, reason string, now time.Time) error {
	if !validID(id) {
		return fmt.Errorf("store: abandon task %s: %w", id, store.ErrNotFound)
	}
	tag, err := r.db.exec(ctx, `UPDATE tasks
		SET status = 'failed', error_message = $2, completed_at = $3, updated_at = $3
		WHERE id = $1 AND (status = 'pending' OR (status = 'queued' AND attempts = 0))`,
		id, nullable(reason), now)
	if err == nil && tag.RowsAffected() == 0 {
		err = r.miss(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("store: abandon task %s: %w", id, translate(err))
	}
	return nil
}

// Pending lists tasks still pending that were created before olderThan,
// oldest first. The literal status lets the planner use the partial index on
// pending tasks.
func (r tasks) Pending(ctx context.Context, olderThan time.Time, limit int) ([]store.Task, error) {
	rows, err := r.db.query(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE status = 'pending' AND created_at < $1
		ORDER BY created_at, id LIMIT $2`, olderThan, store.Limit(limit))
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
	err := r.db.queryRow(ctx, `SELECT status, lease FROM tasks WHERE id = $1`, id).Scan(&status, &lease)
	if err != nil {
		return translate(err)
	}
	return fmt.Errorf("%w: task is %s (lease %d)", store.ErrConflict, status, lease)
}
