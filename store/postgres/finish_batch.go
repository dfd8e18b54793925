package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// finishBatchSQL records many outcomes in one statement: the batch arrives as
// parallel arrays, and each row applies only where Finish's own condition
// holds (running under that lease). ORDINALITY says which items applied.
const finishBatchSQL = `UPDATE tasks
	SET status = b.status, result = b.result::jsonb, error_message = b.error_message,
		completed_at = b.at, updated_at = b.at
	FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
		WITH ORDINALITY AS b(id, lease, status, result, error_message, at, ord)
	WHERE tasks.id = b.id AND tasks.status = 'running' AND tasks.lease = b.lease
	RETURNING b.ord`

// querier is what a round runs on: a pooled connection, or a transaction
// when the batch needs several rounds.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// FinishBatch records the outcomes of many attempts with one UPDATE ... FROM
// unnest(...), the group commit of the result writer. An id that appears
// more than once is applied in a later round of the same transaction, since
// one UPDATE changes a row at most once and Finish called in turn would let
// the first item see the task running and the next see it final.
func (r tasks) FinishBatch(ctx context.Context, items []store.Finished) ([]error, error) {
	errs := make([]error, len(items))
	rounds := finishRounds(items, errs)
	if len(rounds) == 0 {
		return errs, nil
	}
	run := func(q querier) error {
		for _, round := range rounds {
			if err := r.finishRound(ctx, q, items, round, errs); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if len(rounds) == 1 {
		c, aerr := r.db.acquire(ctx)
		if err = aerr; err == nil {
			err = run(c)
			c.Release()
		}
	} else {
		err = r.db.inTx(ctx, func(tx pgx.Tx) error { return run(tx) })
	}
	if err != nil {
		return nil, fmt.Errorf("store: finish %d tasks: %w", len(items), translate(err))
	}
	return errs, nil
}

// finishRounds checks each item as Finish would, setting errs for the bad
// ones, and splits the rest into rounds in which no id repeats.
func finishRounds(items []store.Finished, errs []error) [][]int {
	var rounds [][]int
	var seen []map[string]bool
	for i, it := range items {
		switch {
		case !it.Outcome.Status.Final():
			errs[i] = fmt.Errorf("store: finish task %s: outcome status %q is not final", it.ID, it.Outcome.Status)
			continue
		case len(it.Outcome.Result) > 0 && !json.Valid(it.Outcome.Result):
			// Checked here: the cast to jsonb would fail the whole batch.
			errs[i] = fmt.Errorf("store: finish task %s: result is not valid JSON", it.ID)
			continue
		case !validID(it.ID):
			errs[i] = fmt.Errorf("store: finish task %s: %w", it.ID, store.ErrNotFound)
			continue
		}
		k := 0
		for k < len(seen) && seen[k][it.ID] {
			k++
		}
		if k == len(seen) {
			seen, rounds = append(seen, map[string]bool{}), append(rounds, nil)
		}
		seen[k][it.ID] = true
		rounds[k] = append(rounds[k], i)
	}
	return rounds
}

// finishRound applies one round and explains every item that did not apply.
func (r tasks) finishRound(ctx context.Context, q querier, items []store.Finished, round []int, errs []error) error {
	ids := make([]string, len(round))
	leases := make([]int64, len(round))
	statuses := make([]string, len(round))
	results := make([]*string, len(round))
	messages := make([]*string, len(round))
	ats := make([]time.Time, len(round))
	for j, i := range round {
		it := items[i]
		ids[j], leases[j], statuses[j], ats[j] = it.ID, it.Lease, string(it.Outcome.Status), it.At
		if len(it.Outcome.Result) > 0 {
			s := string(it.Outcome.Result)
			results[j] = &s
		}
		if it.Outcome.ErrorMessage != "" {
			s := it.Outcome.ErrorMessage
			messages[j] = &s
		}
	}
	rows, err := q.Query(ctx, finishBatchSQL, ids, leases, statuses, results, messages, ats)
	if err != nil {
		return err
	}
	ords, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	applied := make([]bool, len(round))
	for _, o := range ords {
		applied[o-1] = true
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
	return r.explainMisses(ctx, q, items, missed, errs)
}

// explainMisses tells a missing task from one in another state, in one
// query for all the items of a round that did not apply.
func (r tasks) explainMisses(ctx context.Context, q querier, items []store.Finished, missed []int, errs []error) error {
	ids := make([]string, len(missed))
	for j, i := range missed {
		ids[j] = items[i].ID
	}
	rows, err := q.Query(ctx, `SELECT id::text, status, lease FROM tasks WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return err
	}
	type state struct {
		status actors.Status
		lease  int64
	}
	found := make(map[string]state, len(ids))
	var (
		id string
		st state
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &st.status, &st.lease}, func() error {
		found[id] = st
		return nil
	})
	if err != nil {
		return err
	}
	for _, i := range missed {
		it := items[i]
		cause := store.ErrNotFound
		if s, ok := found[uuid.MustParse(it.ID).String()]; ok { // validID held
			cause = fmt.Errorf("%w: task is %s (lease %d)", store.ErrConflict, s.status, s.lease)
		}
		errs[i] = fmt.Errorf("store: finish task %s under lease %d: %w", it.ID, it.Lease, cause)
	}
	return nil
}
