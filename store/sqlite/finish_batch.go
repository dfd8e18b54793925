package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/internal/ended"
)

// FinishBatch records the outcomes of many attempts in one transaction on
// the write connection, the group commit of the result writer. Each item
// applies exactly as Finish called in turn would. The items are written a
// chunk at a time (chunks.go) by finishChunk, which returns the id of every
// row it changed: an item whose id it did not return missed, and is
// explained after the commit as Finish does. A statement does not see its
// own changes, where Finish called in turn sees the earlier item's, so no
// chunk holds an id twice (finishRuns). What costs most is the commit (the
// WAL sync), and there is one.
func (r tasks) FinishBatch(ctx context.Context, items []store.Finished) ([]error, error) {
	errs := make([]error, len(items))
	runs := finishRuns(items, errs)
	if len(runs) == 0 {
		return errs, nil
	}
	// While waiters ask for ended tasks, the statements return each row
	// they end, kept once the batch commits (package ended); or, when every
	// item carries its task, only what the items cannot say, the rest of
	// each row built from its item (builtRow).
	keep := r.db.ended.Wanted()
	built := keep && withTasks(items)
	one, many := finishSQL, finishChunk
	switch {
	case built:
		one, many = finishBuiltSQL, finishBuiltChunk
	case keep:
		one, many = finishKeepSQL, finishKeepChunk
	}
	prepared, err := r.db.writeStmt(ctx, one)
	var chunks chunkStmts
	if err == nil {
		chunks, err = r.db.chunkStmts(ctx, many)
	}
	if err != nil {
		return nil, fmt.Errorf("store: finish %d tasks: %w", len(items), translate(err))
	}
	var missed []int
	kept := ended.Batch{}
	err = r.db.inTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, 7*chunkLen(len(items)))
		var changed []string
		for _, run := range runs {
			for lo := 0; lo < len(run); {
				n := chunkLen(len(run) - lo)
				chunk := run[lo : lo+n]
				lo += n
				args = args[:0]
				for _, i := range chunk {
					args = finishArgs(args, items[i])
				}
				if n == 1 && !keep {
					res, err := tx.StmtContext(ctx, prepared).ExecContext(ctx, args...)
					if err != nil {
						return err
					}
					if affected, _ := res.RowsAffected(); affected == 0 {
						missed = append(missed, chunk[0])
					}
					continue
				}
				stmt := prepared
				if n > 1 {
					stmt = chunks.of(n)
				}
				rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
				if err != nil {
					return err
				}
				switch {
				case built:
					changed, err = scanBuilt(rows, changed[:0], items, chunk, kept)
				case keep:
					changed, err = scanEnded(rows, changed[:0], kept)
				default:
					changed, err = scanIDs(rows, changed[:0])
				}
				if err != nil {
					return err
				}
				if len(changed) < n {
					missed = appendMissed(missed, items, chunk, changed)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: finish %d tasks: %w", len(items), translate(err))
	}
	r.db.ended.Keep(kept) // committed now
	// Explained after the commit, on the read pool, as Finish does.
	for _, i := range missed {
		it := items[i]
		errs[i] = fmt.Errorf("store: finish task %s under lease %d: %w", it.ID, it.Lease, translate(r.miss(ctx, it.ID)))
	}
	return errs, nil
}

// finishRuns sets errs[i] for every item that fails the checks Finish makes
// before its UPDATE, and returns the indexes of the others in runs: in
// order, each as long as it can be with no id twice.
func finishRuns(items []store.Finished, errs []error) [][]int {
	var runs [][]int
	var run []int
	ids := make(map[string]struct{}, len(items))
	for i, it := range items {
		o := it.Outcome
		switch {
		case !o.Status.Final():
			errs[i] = fmt.Errorf("store: finish task %s: outcome status %q is not final", it.ID, o.Status)
			continue
		case len(o.Result) > 0 && !json.Valid(o.Result):
			// Checked here: the column's CHECK would fail the whole batch.
			errs[i] = fmt.Errorf("store: finish task %s: result is not valid JSON", it.ID)
			continue
		}
		if _, twice := ids[it.ID]; twice {
			runs = append(runs, run)
			run = nil
			clear(ids)
		}
		ids[it.ID] = struct{}{}
		run = append(run, i)
	}
	if len(run) > 0 {
		runs = append(runs, run)
	}
	return runs
}

// finishArgs appends the arguments of finishSQL, or of a row of
// finishChunk, for it.
func finishArgs(args []any, it store.Finished) []any {
	o := it.Outcome
	return append(args, it.ID, it.Lease, string(o.Status), jsonArg(o.Result),
		nullable(o.ErrorMessage), timeArg(it.At), startedArg(o))
}

// scanIDs appends the ids rows returns to ids, and closes rows.
func scanIDs(rows *sql.Rows, ids []string) ([]string, error) {
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// scanEnded scans the rows a keeping finish returned (finishKeepSQL,
// finishKeepChunk) into kept, appends their ids to ids, and closes rows.
func scanEnded(rows *sql.Rows, ids []string, kept ended.Batch) ([]string, error) {
	defer rows.Close()
	for rows.Next() {
		var stored bool
		t, err := scanTaskAnd(rows, &stored)
		if err != nil {
			return ids, err
		}
		kept.Add(t, stored)
		ids = append(ids, t.ID)
	}
	return ids, rows.Err()
}

// scanBuilt scans the rows a finish that builds what it keeps returned
// (finishBuiltSQL, finishBuiltChunk: each ended task's id, attempts, start,
// parameters and whether attempts were stored), keeps the row builtRow makes of each
// with its item (one of chunk, indexes into items), appends their ids to
// ids, and closes rows.
func scanBuilt(rows *sql.Rows, ids []string, items []store.Finished, chunk []int, kept ended.Batch) ([]string, error) {
	defer rows.Close()
	byID := make(map[string]int, len(chunk))
	for _, i := range chunk {
		byID[items[i].ID] = i
	}
	for rows.Next() {
		var (
			id       string
			attempts int
			started  *time.Time
			params   json.RawMessage
			stored   bool
		)
		if err := rows.Scan(&id, &attempts, nullTimeCol{&started}, jsonCol{&params}, &stored); err != nil {
			return ids, err
		}
		if i, ok := byID[id]; ok {
			if t, ok := builtRow(items[i], attempts, started, params); ok {
				kept.Add(t, stored)
			}
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// withTasks says whether every item carries its task.
func withTasks(items []store.Finished) bool {
	for _, it := range items {
		if it.Task == nil {
			return false
		}
	}
	return true
}

// builtRow is the row a finish left for it, whose attempts, start and
// parameters its statement returned, built as a read would return it: the
// task as the insert stored it (its text as given, the default priority,
// times to the microsecond in UTC) with the outcome's columns. The
// parameters come from the row: a task's message may carry them escaped or
// compacted (transport.EncodeTask), while its text fields come back from
// it exactly where they are valid UTF-8. ok is false where the row cannot
// be known for sure (text that is not UTF-8, a creation time left to the
// insert): that row is not kept, and a waiter reads it.
func builtRow(it store.Finished, attempts int, started *time.Time, params json.RawMessage) (store.Task, bool) {
	t := *it.Task
	if t.CreatedAt.IsZero() || t.ID != it.ID {
		return store.Task{}, false
	}
	for _, s := range []string{t.Name, t.Description, t.Type, string(t.Priority), t.UserID, t.AgentID} {
		if !utf8.ValidString(s) {
			return store.Task{}, false
		}
	}
	if t.Priority == "" {
		t.Priority = actors.PriorityNormal
	}
	t.Parameters = params
	result := it.Outcome.Result
	if len(result) == 0 {
		result = nil
	}
	t.CreatedAt = storedTime(t.CreatedAt)
	t.Attempt = attempts // as scanTaskAnd sets it
	at := storedTime(it.At)
	return store.Task{Task: t, Status: it.Outcome.Status, Result: result, ErrorMessage: it.Outcome.ErrorMessage,
		Attempts: attempts, Lease: it.Lease, StartedAt: started, CompletedAt: &at, UpdatedAt: at}, true
}

// storedTime is t as a timestamp column holding it reads back (timeArg,
// parseTime): to the microsecond, in UTC.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// appendMissed appends to missed the items of chunk (indexes into items)
// whose id is not among changed.
func appendMissed(missed []int, items []store.Finished, chunk []int, changed []string) []int {
	applied := make(map[string]struct{}, len(changed))
	for _, id := range changed {
		applied[id] = struct{}{}
	}
	for _, i := range chunk {
		if _, ok := applied[items[i].ID]; !ok {
			missed = append(missed, i)
		}
	}
	return missed
}

// finishSQL records an attempt's outcome under its lease; with a start time
// ($7), also that of a first attempt Start did not record, on a task never
// started, which it counts under the lease and marks started then.
const finishSQL = `UPDATE tasks
	SET status = $3, result = $4, error_message = $5, completed_at = $6, updated_at = $6,
		attempts = CASE WHEN status = 'running' THEN attempts ELSE 1 END,
		lease = $2, started_at = COALESCE(started_at, $7)
	WHERE id = $1 AND ((status = 'running' AND lease = $2)
		OR ($7 IS NOT NULL AND status IN ('pending', 'queued') AND attempts = 0))`

// finishChunk is finishSQL for many items, the rows of v, returning the id
// of every task it changed. Like finishSQL's, its SET and WHERE read each
// task as it was before the statement; SQLite would update a task matched
// by two rows of v once, with either, which is why no chunk has an id twice.
// The columns of v are named apart from the task's, which finishKeepChunk
// returns bare.
var finishChunk = finishChunkReturning(`tasks.id`)

// finishKeepSQL and finishKeepChunk are finishSQL and finishChunk returning
// each row they end, as they left it, and whether task_attempts held
// attempts of it before (package ended): used while waiters ask for ended
// tasks.
var (
	finishKeepSQL = finishSQL + `
	RETURNING ` + taskColumns + `, ` + storedBefore
	finishKeepChunk = finishChunkReturning(taskColumns + `, ` + storedBefore)
)

// finishBuiltSQL and finishBuiltChunk are finishSQL and finishChunk
// returning, for each row they end, only what its item cannot say exactly:
// its id, the attempts counted, the start (the row's, or the item's for a
// deferred one), the parameters and whether task_attempts held attempts of
// it before. The rest of the row to keep is built from the item's task
// (builtRow): scanning every column of every row through database/sql,
// four timestamps parsed from their text, cost 15-17 µs a task
// (docs/performance.md, step 26).
var (
	finishBuiltSQL = finishSQL + `
	RETURNING ` + builtColumns
	finishBuiltChunk = finishChunkReturning(builtColumns)
)

// builtColumns is what finishBuiltSQL and finishBuiltChunk return.
const builtColumns = `tasks.id, tasks.attempts, tasks.started_at, tasks.parameters, ` + storedBefore

// storedBefore says whether task_attempts holds attempts of the task an
// UPDATE changes. The end of a first attempt fires no trigger (migration
// 00004), so for the rows package ended keeps it is what the table held
// before the UPDATE.
const storedBefore = `EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = tasks.id)`

// finishChunkReturning is finishChunk's statement with returning as its
// RETURNING list.
func finishChunkReturning(returning string) chunkQuery {
	return chunkQuery{
		head: `WITH v (task_id, new_lease, new_status, new_result, new_error, at, started) AS (VALUES
	`,
		row: `(?, ?, ?, ?, ?, ?, ?)`,
		tail: `)
UPDATE tasks
	SET status = v.new_status, result = v.new_result, error_message = v.new_error,
		completed_at = v.at, updated_at = v.at,
		attempts = CASE WHEN tasks.status = 'running' THEN tasks.attempts ELSE 1 END,
		lease = v.new_lease, started_at = COALESCE(tasks.started_at, v.started)
	FROM v
	WHERE tasks.id = v.task_id AND ((tasks.status = 'running' AND tasks.lease = v.new_lease)
		OR (v.started IS NOT NULL AND tasks.status IN ('pending', 'queued') AND tasks.attempts = 0))
	RETURNING ` + returning,
	}
}

// startedArg passes o.StartedAt, the start of an attempt Start did not
// record, zero as SQL NULL.
func startedArg(o store.Outcome) any {
	if o.StartedAt.IsZero() {
		return nil
	}
	return timeArg(o.StartedAt)
}
