package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ymera/ymera/store"
)

// StartBatch starts many tasks in one transaction on the write connection,
// the group commit of the start writer: one prepared startSQL per item, the
// statement Start runs, so each item applies exactly as Start called in turn
// would (an id repeated in the batch sees the earlier item's change). What
// costs in SQLite is the commit (the WAL sync), and there is one.
func (r tasks) StartBatch(ctx context.Context, items []store.Starting) ([]store.Task, []error, error) {
	ts := make([]store.Task, len(items))
	errs := make([]error, len(items))
	var missed []int
	prepared, err := r.db.writeStmt(ctx, startSQL)
	if err != nil {
		return nil, nil, fmt.Errorf("store: start %d tasks: %w", len(items), translate(err))
	}
	err = r.db.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, prepared)
		for i, it := range items {
			t, err := scanTask(stmt.QueryRowContext(ctx, it.ID, it.Lease, timeArg(it.At)))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				missed = append(missed, i)
			case err != nil:
				return err
			default:
				ts[i] = t
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: start %d tasks: %w", len(items), translate(err))
	}
	// Explained after the commit, on the read pool, as Start does.
	for _, i := range missed {
		it := items[i]
		errs[i] = fmt.Errorf("store: start task %s under lease %d: %w", it.ID, it.Lease, translate(r.miss(ctx, it.ID)))
	}
	return ts, errs, nil
}
