package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ymera/ymera/store"
)

// FinishBatch records the outcomes of many attempts in one transaction on
// the write connection, the group commit of the result writer: one prepared
// conditional UPDATE per item, the same statement as Finish, so each item
// applies exactly as Finish called in turn would. What costs in SQLite is
// the commit (the WAL sync), not the statements, and there is one.
func (r tasks) FinishBatch(ctx context.Context, items []store.Finished) ([]error, error) {
	errs := make([]error, len(items))
	var missed []int
	prepared, err := r.db.writeStmt(ctx, finishSQL)
	if err != nil {
		return nil, fmt.Errorf("store: finish %d tasks: %w", len(items), translate(err))
	}
	err = r.db.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, prepared)
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
			res, err := stmt.ExecContext(ctx, it.ID, it.Lease, o.Status, jsonArg(o.Result),
				nullable(o.ErrorMessage), timeArg(it.At), startedArg(o))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				missed = append(missed, i)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: finish %d tasks: %w", len(items), translate(err))
	}
	// Explained after the commit, on the read pool, as Finish does.
	for _, i := range missed {
		it := items[i]
		errs[i] = fmt.Errorf("store: finish task %s under lease %d: %w", it.ID, it.Lease, translate(r.miss(ctx, it.ID)))
	}
	return errs, nil
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

// startedArg passes o.StartedAt, the start of an attempt Start did not
// record, zero as SQL NULL.
func startedArg(o store.Outcome) any {
	if o.StartedAt.IsZero() {
		return nil
	}
	return timeArg(o.StartedAt)
}
