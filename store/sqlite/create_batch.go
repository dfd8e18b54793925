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

// CreateBatch stores many new tasks as pending in one transaction on the
// write connection, the group commit of new rows for the start writer. Each
// task fares exactly as Create called in turn would (ErrConflict for an id
// that exists, also earlier in the same batch), though the rows go in a
// chunk at a time (see createBatch): one bad task does not cost the others.
// What costs most is the commit (the WAL sync), and there is one.
func (r tasks) CreateBatch(ctx context.Context, ts []actors.Task) ([]error, error) {
	_, _, errs, err := r.createBatch(ctx, ts, insertion{})
	return errs, err
}

// EnqueueBatch is CreateBatch with the rows stored as queued and, in the
// same transaction, the outbox entry that lists them; see store.Tasks. A
// task is either inserted with the batch and listed, or refused and
// neither: none is stored apart from the entry.
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

// CreateFinished is CreateBatch with each row stored final, its one attempt
// counted under its item's lease with its outcome, by one prepared INSERT
// per task in one transaction; see store.Tasks.
func (r tasks) CreateFinished(ctx context.Context, items []store.NewFinish) ([]error, error) {
	return store.CreateFinishedWith(items, func(ts []actors.Task, items []store.NewFinish) ([]error, error) {
		_, _, errs, err := r.createBatch(ctx, ts, insertion{finishes: items})
		return errs, err
	})
}

// insertion says how createBatch stores its rows: pending (the zero value,
// CreateBatch), queued with an outbox entry (enqueue, EnqueueBatch),
// running (CreateStarted), ts[i] started as starts[i] says, or final
// (CreateFinished), ts[i] ended as finishes[i] says.
type insertion struct {
	enqueue  bool
	starts   []store.NewStart
	finishes []store.NewFinish
}

// alone says whether createBatch inserts every row on its own.
func (how insertion) alone() bool { return how.starts != nil || how.finishes != nil }

// createBatch is CreateBatch, EnqueueBatch, CreateStarted or CreateFinished,
// as how says.
// It returns the outbox entry's id (EnqueueBatch) and the tasks stored
// started (CreateStarted; nil otherwise).
//
// CreateBatch and EnqueueBatch insert the batch a chunk of rows at a time
// (chunks.go). One row that fails its constraints (an id that exists, also
// earlier in the same batch, or an unknown user) fails its chunk's
// statement, which SQLite then undoes alone; that chunk is inserted again a
// row at a time, so that each task fares exactly as Create called in turn
// would, with Create's error. CreateStarted and CreateFinished insert a
// row at a time: they are not on the submit path, and CreateStarted returns
// each row as stored.
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
	query, chunked := insertTaskSQL, insertTaskChunk
	switch {
	case how.enqueue:
		query, chunked = enqueueTaskSQL, enqueueTaskChunk
	case how.starts != nil:
		query = insertStartedSQL
	case how.finishes != nil:
		query = insertFinishedSQL
	}
	prepared, err := r.db.writeStmt(ctx, query)
	var chunks chunkStmts
	if err == nil && !how.alone() {
		chunks, err = r.db.chunkStmts(ctx, chunked)
	}
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
		inserted := make([]string, 0, len(ts))
		// one inserts ts[i] alone; its error is the batch's.
		one := func(i int) error {
			args := taskArgs(make([]any, 0, 12), ts[i], now)
			var err error
			switch {
			case how.starts != nil:
				started[i], err = scanTask(stmt.QueryRowContext(ctx,
					append(args, how.starts[i].Lease, timeArg(how.starts[i].At))...))
			case how.finishes != nil:
				f := how.finishes[i]
				_, err = stmt.ExecContext(ctx, append(args, f.Lease, timeArg(f.Outcome.StartedAt),
					string(f.Outcome.Status), timeArg(f.At), jsonArg(f.Outcome.Result),
					nullable(f.Outcome.ErrorMessage))...)
			default:
				_, err = stmt.ExecContext(ctx, args...)
			}
			if err == nil {
				inserted = append(inserted, ts[i].ID)
				return nil
			}
			if batchError(ctx, err) {
				return err
			}
			errs[i] = fmt.Errorf("store: create task %s: %w", ts[i].ID, translate(err))
			return nil
		}
		var args []any
		if chunks != nil {
			args = make([]any, 0, 11*chunkLen(len(ts)))
		}
		for lo := 0; lo < len(ts); {
			n := 1
			if chunks != nil {
				n = chunkLen(len(ts) - lo)
			}
			if n > 1 {
				args = args[:0]
				for _, t := range ts[lo : lo+n] {
					args = taskArgs(args, t, now)
					args = append(args, args[len(args)-1]) // updated_at: created_at
				}
				_, err := tx.StmtContext(ctx, chunks.of(n)).ExecContext(ctx, args...)
				if err == nil {
					for _, t := range ts[lo : lo+n] {
						inserted = append(inserted, t.ID)
					}
					lo += n
					continue
				}
				if batchError(ctx, err) {
					return err
				}
			}
			// Alone: a chunk of one, a chunk a row of which failed, or a
			// started or finished row.
			for i := lo; i < lo+n; i++ {
				if err := one(i); err != nil {
					return err
				}
			}
			lo += n
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

// batchError reports whether err, from a statement of a batch's
// transaction, fails the whole batch rather than one of its tasks: the
// database is unavailable, or the caller gave up.
func batchError(ctx context.Context, err error) bool {
	return errors.Is(translate(err), store.ErrUnavailable) || ctx.Err() != nil
}

// taskArgs appends the arguments $1 to $10 of an insert of t, created now
// unless it says when, at normal priority unless it says otherwise.
func taskArgs(args []any, t actors.Task, now time.Time) []any {
	if t.Priority == "" {
		t.Priority = actors.PriorityNormal
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	return append(args, t.ID, t.Name, nullable(t.Description), t.Type, jsonArg(t.Parameters),
		string(t.Priority), nullable(t.UserID), nullable(t.AgentID), int64(t.MaxAttempts), timeArg(t.CreatedAt))
}

// insertTaskSQL stores a new task as pending, as Create does;
// enqueueTaskSQL as queued; insertStartedSQL as running under the lease $11
// since $12, its first attempt counted, and returns it as Start does;
// insertFinishedSQL with the final status $13 at $14 (result $15, error
// $16), its one attempt counted under the lease $11 since $12.
const (
	insertFinishedSQL = `INSERT INTO tasks (id, name, description, task_type, parameters,
	priority, user_id, agent_id, max_attempts, created_at, status, updated_at, attempts, lease, started_at,
	completed_at, result, error_message)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $13, $14, 1, $11, $12, $14, $15, $16)`
	insertTaskSQL    = insertTaskHead + pendingTaskRow
	enqueueTaskSQL   = insertTaskHead + queuedTaskRow
	insertStartedSQL = insertTaskHead + `($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $12, 1, $11, $12)
	RETURNING ` + taskColumns
	insertTaskHead = `INSERT INTO tasks (id, name, description, task_type, parameters,
	priority, user_id, agent_id, max_attempts, created_at, status, updated_at, attempts, lease, started_at)
	VALUES `
	pendingTaskRow = `($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $10, 0, 0, NULL)`
	queuedTaskRow  = `($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $10, 0, 0, NULL)`
)

// insertTaskChunk and enqueueTaskChunk are insertTaskSQL and
// enqueueTaskSQL for many rows: a row takes taskArgs and its created_at
// again, for updated_at (see chunkQuery).
var (
	insertTaskChunk  = chunkQuery{head: insertTaskHead, row: `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, 0, 0, NULL)`}
	enqueueTaskChunk = chunkQuery{head: insertTaskHead, row: `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, 0, 0, NULL)`}
)

// insertOutboxSQL writes an outbox entry: a JSON array of task ids.
const insertOutboxSQL = `INSERT INTO task_outbox (task_ids, created_at) VALUES ($1, $2) RETURNING id`
