package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/internal/ended"
)

// finishBatchSQL records many outcomes in one statement: the batch arrives as
// parallel arrays, and each row applies only where Finish's own condition
// holds (running under that lease, or, for an item with a start time, never
// started). ORDINALITY says which items applied. The batch's columns are
// named apart from the task's, which finishKeepSQL returns bare. See
// inRounds for the IS TRUE and the order of row locks.
const finishBatchSQL = `UPDATE tasks
	SET status = b.new_status, result = b.new_result::jsonb, error_message = b.new_error,
		completed_at = b.at, updated_at = b.at,
		attempts = CASE WHEN tasks.status = 'running' THEN tasks.attempts ELSE 1 END,
		lease = b.new_lease, started_at = COALESCE(tasks.started_at, b.started)
	FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
			$7::timestamptz[])
		WITH ORDINALITY AS b(task_id, new_lease, new_status, new_result, new_error, at, started, ord)
	WHERE tasks.id = b.task_id AND (((tasks.status = 'running') IS TRUE AND tasks.lease = b.new_lease)
		OR (b.started IS NOT NULL AND (tasks.status IN ('pending', 'queued')) IS TRUE
			AND tasks.attempts = 0))
	RETURNING b.ord`

// finishKeepSQL is finishBatchSQL returning also each row it ended, as it
// left it, and whether task_attempts held attempts of it before (package
// ended): used while waiters ask for ended tasks.
const finishKeepSQL = finishBatchSQL + `, ` + taskColumns + `,
	EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = tasks.id)`

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
	var kept ended.Batch // nil: the rows ended are not returned
	if r.db.ended.Wanted() {
		kept = ended.Batch{}
	}
	err := r.inRounds(ctx, rounds, func(q querier, round []int) error {
		return r.finishRound(ctx, q, items, round, errs, kept)
	})
	if err != nil {
		return nil, fmt.Errorf("store: finish %d tasks: %w", len(items), translate(err))
	}
	r.db.ended.Keep(kept) // committed now
	return errs, nil
}

// inRounds applies each round in turn: one round is one statement on one
// connection, and several (a batch that repeats an id) run in one
// transaction, so that the batch commits as a whole.
//
// The batched UPDATEs (starts and finishes) name each row by primary key
// and test its status and lease on the row itself; an UPDATE re-reads a
// row changed under it and tests again, as a single-row Finish or Start
// does.
//
// The status test is wrapped in IS TRUE so that the planner cannot use it
// as an index condition. Bare, it may add the (status, id) index to the
// primary-key lookup (a BitmapAnd), and that index holds an entry for
// every version a status change made: under load every statement then read
// the thousands of dead 'running' entries left since the last vacuum.
// Measured on PostgreSQL 15: 23 million index entries read by 2,191
// statements in ten seconds, a sixth of the server's CPU; by the primary
// key alone, none.
//
// Two batches that share rows (a start and a finish of a redelivered task,
// two nodes starting the same redelivered tasks) take their row locks in
// the order their plans visit the rows. Each round's arrays are sorted by
// id (distinctRounds), which is that order in a nested-loop plan, so such
// batches mostly just wait for each other; a deadlock left over (another
// plan, a multi-round transaction) aborts one of them, and inRounds runs
// it again. Locking every row first, in id order, with a SELECT ... FOR
// NO KEY UPDATE (as this did before) made deadlocks impossible but wrote
// every row twice: a tuple lock and its WAL record, then the update. Without
// it, 6-7 % more tasks/s through HTTP on PostgreSQL (docs/performance.md).
func (r tasks) inRounds(ctx context.Context, rounds [][]int, apply func(q querier, round []int) error) error {
	run := func(q querier) error {
		for _, round := range rounds {
			if err := apply(q, round); err != nil {
				return err
			}
		}
		return nil
	}
	once := func() error {
		if len(rounds) == 1 {
			c, err := r.db.acquire(ctx)
			if err != nil {
				return err
			}
			defer c.Release()
			return run(c)
		}
		return r.db.inTx(ctx, func(tx pgx.Tx) error { return run(tx) })
	}
	err := once()
	for try := 1; try < deadlockTries && isDeadlock(err); try++ {
		err = once() // the aborted attempt changed nothing
	}
	return err
}

// deadlockTries bounds how often inRounds runs a batch a deadlock aborted.
const deadlockTries = 3

// isDeadlock says whether err is PostgreSQL's deadlock_detected.
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

// finishRounds checks each item as Finish would, setting errs for the bad
// ones, and splits the rest into rounds in which no id repeats.
func finishRounds(items []store.Finished, errs []error) [][]int {
	var valid []int
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
		valid = append(valid, i)
	}
	return distinctRounds(valid, func(i int) string { return items[i].ID })
}

// distinctRounds splits the items idx (valid ids, in order) into rounds in
// which no task repeats: one UPDATE changes a row at most once, so an item
// whose task is already in a round goes to the next one, where it sees what
// the earlier item did, as the same calls made in turn would. Ids are
// compared as UUIDs, so two spellings of one id count as one task. Each
// round comes sorted by id.
func distinctRounds(idx []int, id func(int) string) [][]int {
	var rounds [][]int
	var seen []map[uuid.UUID]bool
	keys := make(map[int]uuid.UUID, len(idx))
	for _, i := range idx {
		key := uuid.MustParse(id(i)) // validID held
		keys[i] = key
		k := 0
		for k < len(seen) && seen[k][key] {
			k++
		}
		if k == len(seen) {
			seen, rounds = append(seen, map[uuid.UUID]bool{}), append(rounds, nil)
		}
		seen[k][key] = true
		rounds[k] = append(rounds[k], i)
	}
	// Each round in id order, the order PostgreSQL sorts uuids in (see
	// inRounds).
	for _, round := range rounds {
		slices.SortFunc(round, func(a, b int) int {
			ka, kb := keys[a], keys[b]
			return bytes.Compare(ka[:], kb[:])
		})
	}
	return rounds
}

// finishRound applies one round and explains every item that did not apply.
// Unless kept is nil, it puts the rows it ended in kept, in place of what
// kept held for its tasks: the work of an aborted run of the round, or of
// an earlier round.
func (r tasks) finishRound(ctx context.Context, q querier, items []store.Finished, round []int, errs []error, kept ended.Batch) error {
	keep := kept != nil
	ids := make(refs[pgtype.UUID], len(round))
	leases := make(refs[pgtype.Int8], len(round))
	statuses := make(refs[pgtype.Text], len(round))
	results := make(refs[pgtype.Text], len(round))
	messages := make(refs[pgtype.Text], len(round))
	ats := make(refs[pgtype.Timestamptz], len(round))
	starts := make(refs[pgtype.Timestamptz], len(round))
	for j, i := range round {
		it := items[i]
		errs[i] = nil // from an attempt that inRounds runs again
		if keep {
			kept.Drop(canonicalID(it.ID))
		}
		ids[j] = uuidArg(it.ID) // finishRounds checked it
		leases[j] = pgtype.Int8{Int64: it.Lease, Valid: true}
		statuses[j], ats[j] = textArg(string(it.Outcome.Status)), timeArg(it.At)
		results[j], messages[j] = nullableText(string(it.Outcome.Result)), nullableText(it.Outcome.ErrorMessage)
		if at := it.Outcome.StartedAt; !at.IsZero() {
			starts[j] = pgtype.Timestamptz{Time: at, Valid: true}
		}
	}
	var (
		ord             int64
		row             store.Task
		parameters, res []byte
		stored          bool
	)
	applied := make([]bool, len(round))
	sql, dest, each := finishBatchSQL, []any{&ord}, func() error {
		applied[ord-1] = true
		return nil
	}
	if keep {
		sql, dest = finishKeepSQL, append(dest, append(taskDest(&row, &parameters, &res), &stored)...)
		each = func() error {
			applied[ord-1] = true
			t := row
			finishScan(&t, parameters, res)
			kept.Add(t, stored)
			return nil
		}
	}
	rows, err := q.Query(ctx, sql, ids, leases, statuses, results, messages, ats, starts)
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, dest, each); err != nil {
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
	return r.explainMisses(ctx, q, items, missed, errs)
}

// explainMisses tells a missing task from one in another state, in one
// query for all the items of a round that did not apply.
func (r tasks) explainMisses(ctx context.Context, q querier, items []store.Finished, missed []int, errs []error) error {
	found, err := taskStates(ctx, q, missed, func(i int) string { return items[i].ID })
	if err != nil {
		return err
	}
	for _, i := range missed {
		it := items[i]
		errs[i] = fmt.Errorf("store: finish task %s under lease %d: %w", it.ID, it.Lease, found.cause(it.ID))
	}
	return nil
}

// taskState is where a task stands, to explain a transition that missed it.
type taskState struct {
	status actors.Status
	lease  int64
}

// taskStates maps the tasks of the items idx (valid ids) that exist to
// their state, in one query.
func taskStates(ctx context.Context, q querier, idx []int, id func(int) string) (states, error) {
	ids := make([]string, len(idx))
	for j, i := range idx {
		ids[j] = id(i)
	}
	rows, err := q.Query(ctx, `SELECT id::text, status, lease FROM tasks WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	found := make(states, len(ids))
	var (
		key string
		st  taskState
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &st.status, &st.lease}, func() error {
		found[key] = st
		return nil
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// states is what taskStates found, by task id.
type states map[string]taskState

// cause is why a conditional transition of task id (a valid id) matched no
// row, as miss would say: ErrNotFound, or ErrConflict with the task's state.
func (s states) cause(id string) error {
	st, ok := s[uuid.MustParse(id).String()]
	if !ok {
		return store.ErrNotFound
	}
	return fmt.Errorf("%w: task is %s (lease %d)", store.ErrConflict, st.status, st.lease)
}
