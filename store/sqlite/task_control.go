package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// The transitions that end a task from outside its attempt (cancel, dead
// letter, replay) and the attempt history. task_attempts holds the attempts
// the task row no longer describes, written by the triggers of migration
// 00004 in the same statement as the transition that makes the row move on;
// store.WithRowAttempt adds the one it still describes.

// Attempts returns the task's attempts in order; none for a missing task.
func (r tasks) Attempts(ctx context.Context, taskID string) ([]store.Attempt, error) {
	_, list, err := r.GetWithAttempts(ctx, taskID)
	if errors.Is(err, store.ErrNotFound) {
		return []store.Attempt{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: attempts of task %s: %w", taskID, err)
	}
	return list, nil
}

// attemptsOf reads the attempts of taskID with st, the prepared attemptsSQL
// (or the same statement within a read transaction).
func attemptsOf(ctx context.Context, st *sql.Stmt, taskID string) ([]store.Attempt, error) {
	rows, err := st.QueryContext(ctx, taskID)
	if err != nil {
		return nil, fmt.Errorf("store: attempts of task %s: %w", taskID, translate(err))
	}
	list, err := collect(rows, func(row scanner) (store.Attempt, error) {
		var a store.Attempt
		err := row.Scan(&a.Attempt, &a.Lease, &a.Status, &a.Error, timeCol{&a.StartedAt}, nullTimeCol{&a.FinishedAt})
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: attempts of task %s: %w", taskID, translate(err))
	}
	return list, nil
}

// Cancel cancels a pending or queued task; see store.Tasks.
func (r tasks) Cancel(ctx context.Context, id string, now time.Time) (store.Task, error) {
	t, err := scanTask(r.db.write.QueryRowContext(ctx, `UPDATE tasks
		SET status = 'cancelled', error_message = 'cancelled before it started',
			completed_at = $2, updated_at = $2
		WHERE id = $1 AND status IN ('pending', 'queued')
		RETURNING `+taskColumns, id, timeArg(now)))
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Task{}, fmt.Errorf("store: cancel task %s: %w", id, translate(err))
	}
	// Not cancellable here: running (the caller cancels it where it runs),
	// final, or missing.
	cur, err := r.Get(ctx, id)
	if err != nil {
		return store.Task{}, fmt.Errorf("store: cancel task %s: %w", id, err)
	}
	if cur.Status.Final() {
		return cur, fmt.Errorf("store: cancel task %s: %w: task is %s", id, store.ErrConflict, cur.Status)
	}
	return cur, nil
}

// DeadLetter moves any non-final task to dead_letter; see store.Tasks.
func (r tasks) DeadLetter(ctx context.Context, id string, reason string, now time.Time) error {
	res, err := r.db.write.ExecContext(ctx, `UPDATE tasks
		SET status = 'dead_letter', error_message = $2, completed_at = $3, updated_at = $3
		WHERE id = $1 AND status IN ('pending', 'queued', 'running')`,
		id, nullable(reason), timeArg(now))
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = r.miss(ctx, id)
		}
	}
	if err != nil {
		return fmt.Errorf("store: dead-letter task %s: %w", id, translate(err))
	}
	return nil
}

// Revive takes a dead_letter task back to pending for a replay; see
// store.Tasks.
func (r tasks) Revive(ctx context.Context, id string, now time.Time) error {
	// Dropped first: from here, GetEnded reads the row, revived or not.
	r.db.ended.Forget(id)
	res, err := r.db.write.ExecContext(ctx, `UPDATE tasks
		SET status = 'pending', completed_at = NULL, updated_at = $2
		WHERE id = $1 AND status = $3`,
		id, timeArg(now), actors.StatusDeadLetter)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = r.miss(ctx, id)
		}
	}
	if err != nil {
		return fmt.Errorf("store: revive task %s: %w", id, translate(err))
	}
	return nil
}

// GetEnded returns the task and its attempts as GetWithAttempts does, for a
// caller that has just learned that the task ended: as that end left it,
// without a statement, if this store recorded the end within ended.Keep
// (FinishBatch keeps the rows it ends while GetEnded is being called;
// package store/internal/ended).
func (r tasks) GetEnded(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	r.db.ended.Ask()
	if t, list, ok := r.db.ended.Get(id); ok {
		return t, list, nil
	}
	return r.GetWithAttempts(ctx, id)
}

// GetWithAttempts returns the task and its attempts, read in one read
// transaction so that both come from the same snapshot.
func (r tasks) GetWithAttempts(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	getTask, err := r.db.stmts.stmt(ctx, r.db.read, getTaskSQL)
	if err != nil {
		return store.Task{}, nil, fmt.Errorf("store: get task %s: %w", id, translate(err))
	}
	attempts, err := r.db.stmts.stmt(ctx, r.db.read, attemptsSQL)
	if err != nil {
		return store.Task{}, nil, fmt.Errorf("store: get task %s: %w", id, translate(err))
	}
	tx, err := r.db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Task{}, nil, fmt.Errorf("store: get task %s: %w", id, translate(err))
	}
	defer func() { _ = tx.Rollback() }()
	t, err := scanTask(tx.StmtContext(ctx, getTask).QueryRowContext(ctx, id))
	if err != nil {
		return store.Task{}, nil, fmt.Errorf("store: get task %s: %w", id, translate(err))
	}
	list, err := attemptsOf(ctx, tx.StmtContext(ctx, attempts), id)
	if err != nil {
		return store.Task{}, nil, err
	}
	return t, store.WithRowAttempt(t, list), nil
}
