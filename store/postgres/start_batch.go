package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ymera/ymera/store"
)

// startBatchSQL starts many tasks in one statement: the batch arrives as
// parallel arrays, and each row applies only where Start's own condition
// holds (pending or queued, or running under the same lease); see inRounds
// for the IS TRUE and the order of row locks. The unnest columns are named
// apart from the task's so that RETURNING can list taskColumns as they
// are; ORDINALITY says which item each returned task answers.
const startBatchSQL = `UPDATE tasks
	SET status = 'running', lease = b.blease, attempts = attempts + 1,
		started_at = COALESCE(started_at, b.bat), updated_at = b.bat
	FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[])
		WITH ORDINALITY AS b(bid, blease, bat, ord)
	WHERE tasks.id = b.bid
		AND ((tasks.status IN ('pending', 'queued')) IS TRUE
			OR ((tasks.status = 'running') IS TRUE AND tasks.lease = b.blease))
	RETURNING b.ord, ` + taskColumns

// StartBatch starts many tasks with one UPDATE ... FROM unnest(...), the
// group commit of the start writer; the attempt trigger fires per row as
// for Start. An id that appears more than once is applied in a later round
// of the same transaction, as FinishBatch does, so the second item sees the
// first one's change. An id that is not a UUID is that item's ErrNotFound,
// as for Start, and costs the others nothing.
func (r tasks) StartBatch(ctx context.Context, items []store.Starting) ([]store.Task, []error, error) {
	ts := make([]store.Task, len(items))
	errs := make([]error, len(items))
	var valid []int
	for i, it := range items {
		if !validID(it.ID) {
			errs[i] = fmt.Errorf("store: start task %s: %w", it.ID, store.ErrNotFound)
			continue
		}
		valid = append(valid, i)
	}
	id := func(i int) string { return items[i].ID }
	rounds := distinctRounds(valid, id)
	if len(rounds) == 0 {
		return ts, errs, nil
	}
	err := r.inRounds(ctx, rounds, func(q querier, round []int) error {
		return r.startRound(ctx, q, items, round, ts, errs)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: start %d tasks: %w", len(items), translate(err))
	}
	return ts, errs, nil
}

// startRound applies one round, keeping the task each applied item returned,
// and explains every item that did not apply.
func (r tasks) startRound(ctx context.Context, q querier, items []store.Starting, round []int,
	ts []store.Task, errs []error) error {
	ids := make(refs[pgtype.UUID], len(round))
	leases := make(refs[pgtype.Int8], len(round))
	ats := make(refs[pgtype.Timestamptz], len(round))
	for j, i := range round {
		ts[i], errs[i] = store.Task{}, nil // from an attempt that inRounds runs again
		// StartBatch checked the ids.
		ids[j], ats[j] = uuidArg(items[i].ID), timeArg(items[i].At)
		leases[j] = pgtype.Int8{Int64: items[i].Lease, Valid: true}
	}
	rows, err := q.Query(ctx, startBatchSQL, ids, leases, ats)
	if err != nil {
		return err
	}
	applied := make([]bool, len(round))
	var ord int64
	for rows.Next() {
		t, err := scanTask(ordRow{rows, &ord})
		if err != nil {
			rows.Close()
			return err
		}
		applied[ord-1] = true
		ts[round[ord-1]] = t
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var missed []int
	for j, i := range round {
		if !applied[j] {
			missed = append(missed, i)
		}
	}
	if len(missed) == 0 {
		return nil
	}
	found, err := taskStates(ctx, q, missed, func(i int) string { return items[i].ID })
	if err != nil {
		return err
	}
	for _, i := range missed {
		it := items[i]
		errs[i] = fmt.Errorf("store: start task %s under lease %d: %w", it.ID, it.Lease, found.cause(it.ID))
	}
	return nil
}

// ordRow reads a RETURNING row whose first column is the item's ordinal
// into ord, and the rest as the row it wraps would.
type ordRow struct {
	pgx.Row
	ord *int64
}

func (r ordRow) Scan(dest ...any) error {
	return r.Row.Scan(append([]any{r.ord}, dest...)...)
}
