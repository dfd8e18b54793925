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

// Cancel cancels a pending or queued task; see store.Tasks.
func (r tasks) Cancel(ctx context.Context, id string, now time.Time) (store.Task, error) {
	if !validID(id) {
		return store.Task{}, fmt.Errorf("store: cancel task %s: %w", id, store.ErrNotFound)
	}
	t, err := scanTask(r.db.queryRow(ctx, `UPDATE tasks
		SET status = 'cancelled', error_message = 'cancelled before it started',
			completed_at = $2, updated_at = $2
		WHERE id = $1 AND status IN ('pending', 'queued')
		RETURNING `+taskColumns, id, now))
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
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
	if !validID(id) {
		return fmt.Errorf("store: dead-letter task %s: %w", id, store.ErrNotFound)
	}
	tag, err := r.db.exec(ctx, `UPDATE tasks
		SET status = 'dead_letter', error_message = $2, completed_at = $3, updated_at = $3
		WHERE id = $1 AND status IN ('pending', 'queued', 'running')`,
		id, nullable(reason), now)
	if err == nil && tag.RowsAffected() == 0 {
		err = r.miss(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("store: dead-letter task %s: %w", id, translate(err))
	}
	return nil
}

// Revive takes a dead_letter task back to pending for a replay; see
// store.Tasks.
func (r tasks) Revive(ctx context.Context, id string, now time.Time) error {
	if !validID(id) {
		return fmt.Errorf("store: revive task %s: %w", id, store.ErrNotFound)
	}
	// Dropped first: from here, GetEnded reads the row, revived or not.
	r.db.ended.Forget(canonicalID(id))
	tag, err := r.db.exec(ctx, `UPDATE tasks
		SET status = 'pending', completed_at = NULL, updated_at = $2
		WHERE id = $1 AND status = $3`,
		id, now, string(actors.StatusDeadLetter))
	if err == nil && tag.RowsAffected() == 0 {
		err = r.miss(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("store: revive task %s: %w", id, translate(err))
	}
	return nil
}

// GetWithAttempts returns the task and its attempts in one round trip: the
// stored attempts come as one JSON array aggregated beside the row, and the
// one the row describes from the row itself. It is what GET /tasks/{task_id}
// reads, the request clients poll and wait on hardest; concurrent reads
// share statements (taskReads).
func (r tasks) GetWithAttempts(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	if !validID(id) {
		return store.Task{}, nil, fmt.Errorf("store: get task %s: %w", id, store.ErrNotFound)
	}
	t, list, err := r.db.details.get(ctx, id)
	if err != nil {
		return store.Task{}, nil, fmt.Errorf("store: get task %s: %w", id, err)
	}
	return t, store.WithRowAttempt(t, list), nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
