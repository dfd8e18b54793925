package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// insertBatchSQL inserts many tasks in one statement: the batch arrives as
// parallel arrays, the status as $11. COPY is faster still but cannot skip
// a row whose id exists; ON CONFLICT DO NOTHING can, and RETURNING says
// which rows went in, so the others are the conflicts. (CreateFinished
// tries a COPY first, and runs this when the COPY fails: copyFinished.)
//
// A row stored started (CreateStarted) comes with its lease in $12 and its
// start time in $13, and counts its first attempt, so a task published
// straight to NATS is written once rather than inserted and then updated.
// A row stored finished (CreateFinished) also comes with its own final
// status ($14), its end ($15), and its result and error ($16, $17).
// CreateBatch and EnqueueBatch pass NULL for the arrays they do not use:
// unnest reads a NULL array as empty and pads it with NULLs, so their rows
// get what Create stores (no attempt, lease 0, no started_at, updated_at =
// created_at, $11's status).
const insertBatchSQL = `INSERT INTO tasks (id, name, description, task_type, parameters,
		priority, user_id, agent_id, max_attempts, created_at, updated_at, status,
		attempts, lease, started_at, completed_at, result, error_message)
	SELECT b.id::uuid, b.name, b.description, b.task_type, b.parameters::jsonb,
		b.priority, b.user_id::uuid, b.agent_id::uuid, b.max_attempts, b.created_at,
		COALESCE(b.completed_at, b.started_at, b.created_at), COALESCE(b.status, $11::text),
		CASE WHEN b.started_at IS NULL THEN 0 ELSE 1 END, COALESCE(b.lease, 0), b.started_at,
		b.completed_at, b.result::jsonb, b.error_message
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::int[], $10::timestamptz[], $12::bigint[], $13::timestamptz[],
		$14::text[], $15::timestamptz[], $16::text[], $17::text[])
		AS b(id, name, description, task_type, parameters, priority, user_id, agent_id, max_attempts, created_at,
			lease, started_at, status, completed_at, result, error_message)
	ON CONFLICT (id) DO NOTHING`

// createBatchSQL is the statement of CreateBatch and CreateFinished: the
// inserted ids.
const createBatchSQL = insertBatchSQL + `
	RETURNING id::text`

// createStartedSQL is CreateStarted's statement: the inserted tasks, as
// Start returns them.
const createStartedSQL = insertBatchSQL + `
	RETURNING ` + taskColumns

// enqueueBatchSQL is EnqueueBatch's statement: the rows and the outbox entry
// listing them in one statement, so in one round trip and one commit. A
// data-modifying CTE's RETURNING feeds the next, so the entry lists exactly
// the rows that went in, and none is made when none did. Each inserted id
// comes back with the entry's id.
const enqueueBatchSQL = `WITH ins AS (` + insertBatchSQL + `
		RETURNING id),
	ob AS (INSERT INTO task_outbox (task_ids, created_at)
		SELECT array_agg(ins.id), $18::timestamptz FROM ins HAVING count(*) > 0
		RETURNING id)
	SELECT ins.id::text, (SELECT ob.id FROM ob) FROM ins`

// CreateBatch stores many new tasks as pending with one INSERT ... SELECT
// FROM unnest(...), the group commit of new rows for the start writer.
// errs[i] is what Create would have returned for ts[i] called in turn:
// ErrConflict for an id that exists, also earlier in the same batch. A task
// the statement cannot take without failing the whole batch (a malformed id
// or JSON, an unknown user) is created on its own, so it gets Create's own
// error and costs the others nothing.
func (r tasks) CreateBatch(ctx context.Context, ts []actors.Task) ([]error, error) {
	_, _, errs, err := r.createBatch(ctx, ts, insertion{})
	return errs, err
}

// EnqueueBatch is CreateBatch with the rows stored as queued and the outbox
// entry that lists them, in one statement; see store.Tasks.
func (r tasks) EnqueueBatch(ctx context.Context, ts []actors.Task) (int64, []error, error) {
	outbox, _, errs, err := r.createBatch(ctx, ts, insertion{enqueue: true})
	return outbox, errs, err
}

// CreateStarted is CreateBatch with each row stored running under its
// item's lease, its first attempt counted, in the same one statement; see
// store.Tasks. A task CreateBatch would create alone is inserted alone by
// that statement, whose error is then its verdict. The attempt history
// needs nothing more: the running attempt is read from the row, as after
// Start (store.WithRowAttempt).
func (r tasks) CreateStarted(ctx context.Context, items []store.NewStart) ([]store.Task, []error, error) {
	_, started, errs, err := r.createBatch(ctx, store.StartedTasks(items), insertion{starts: items})
	return started, errs, err
}

// CreateFinished is CreateBatch with each row stored final, its one attempt
// counted under its item's lease with its outcome, in the same one
// statement; see store.Tasks. A task CreateBatch would create alone is
// inserted alone by that statement, whose error is then its verdict.
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

// createBatch is CreateBatch, EnqueueBatch, CreateStarted or CreateFinished,
// as how says.
// It returns the outbox entry's id (EnqueueBatch) and the tasks stored
// started (CreateStarted; nil otherwise).
func (r tasks) createBatch(ctx context.Context, ts []actors.Task, how insertion) (int64, []store.Task, []error, error) {
	errs := make([]error, len(ts))
	var started []store.Task
	if how.starts != nil {
		started = make([]store.Task, len(ts))
	}
	var batch, alone []int
	seen := make(map[string]bool, len(ts))
	for i, t := range ts {
		switch {
		case !validID(t.ID) || (t.UserID != "" && !validID(t.UserID)) ||
			(t.AgentID != "" && !validID(t.AgentID)) ||
			(len(t.Parameters) > 0 && !json.Valid(t.Parameters)):
			alone = append(alone, i)
		case seen[uuid.MustParse(t.ID).String()]:
			errs[i] = fmt.Errorf("store: create task %s: %w: id repeated in the batch", t.ID, store.ErrConflict)
		default:
			seen[uuid.MustParse(t.ID).String()] = true
			batch = append(batch, i)
		}
	}
	var outbox int64
	stored := false // whether a task is in, which a later failure must not deny
	if len(batch) > 1 && how.finishes != nil {
		switch err := r.copyFinished(ctx, ts, batch, how.finishes); {
		case err == nil:
			return 0, nil, errs, nil
		case errors.Is(translate(err), store.ErrUnavailable) || ctx.Err() != nil:
			return 0, nil, nil, fmt.Errorf("store: create %d tasks: %w", len(ts), translate(err))
		}
		// A row the COPY could not take (an id that exists, most likely:
		// a copy of a task whose row was made meanwhile) failed it whole;
		// the statement below finds each row's verdict.
	}
	if len(batch) > 0 {
		n, ob, err := r.insertBatch(ctx, ts, batch, errs, how, started)
		if err != nil {
			terr := translate(err)
			if errors.Is(terr, store.ErrUnavailable) || ctx.Err() != nil {
				return 0, nil, nil, fmt.Errorf("store: create %d tasks: %w", len(ts), terr)
			}
			// A row broke a constraint the checks above cannot see (an
			// unknown user or agent, an oversized name): nothing was
			// inserted, so let each task find its own verdict.
			alone = append(alone, batch...)
		}
		outbox, stored = ob, n > 0
	}
	for _, i := range alone {
		errs[i] = r.createAlone(ctx, ts, i, how, started)
		if errors.Is(errs[i], store.ErrUnavailable) && !stored {
			return 0, nil, nil, fmt.Errorf("store: create %d tasks: %w", len(ts), errs[i])
		}
		stored = stored || errs[i] == nil
	}
	return outbox, started, errs, nil
}

// createAlone stores ts[i] on its own and returns its verdict: with Create,
// or for a started or finished row with the batch statement holding only
// that task. Alone is never enqueued: see store.Tasks.EnqueueBatch.
func (r tasks) createAlone(ctx context.Context, ts []actors.Task, i int, how insertion, started []store.Task) error {
	if how.starts == nil && how.finishes == nil {
		return r.Create(ctx, ts[i])
	}
	errs := make([]error, len(ts))
	if _, _, err := r.insertBatch(ctx, ts, []int{i}, errs, how, started); err != nil {
		return fmt.Errorf("store: create task %s: %w", ts[i].ID, translate(err))
	}
	return errs[i]
}

// insertBatch inserts ts[batch...] (distinct, valid ids) with createBatchSQL,
// enqueueBatchSQL or createStartedSQL as how says, keeps each started task
// in started, and marks every task that did not go in as a conflict in errs
// (when errs is not nil). It returns how many went in and the outbox entry's
// id (0 when there is none).
func (r tasks) insertBatch(ctx context.Context, ts []actors.Task, batch []int, errs []error, how insertion,
	started []store.Task) (int, int64, error) {
	n := len(batch)
	// Optional columns are NULL where empty (nullableText).
	ids, names, descs, types := make(refs[pgtype.Text], n), make(refs[pgtype.Text], n), make(refs[pgtype.Text], n), make(refs[pgtype.Text], n)
	params, prios, users, agents := make(refs[pgtype.Text], n), make(refs[pgtype.Text], n), make(refs[pgtype.Text], n), make(refs[pgtype.Text], n)
	maxes, ats := make(refs[pgtype.Int4], n), make(refs[pgtype.Timestamptz], n)
	var leases refs[pgtype.Int8]
	var starts refs[pgtype.Timestamptz] // NULL arrays unless started or finished: see insertBatchSQL
	if how.starts != nil || how.finishes != nil {
		leases, starts = make(refs[pgtype.Int8], n), make(refs[pgtype.Timestamptz], n)
	}
	var statuses, results, messages refs[pgtype.Text]
	var ends refs[pgtype.Timestamptz] // NULL arrays unless finished
	if how.finishes != nil {
		statuses, results, messages, ends = make(refs[pgtype.Text], n), make(refs[pgtype.Text], n), make(refs[pgtype.Text], n), make(refs[pgtype.Timestamptz], n)
	}
	now := r.db.now()
	for j, i := range batch {
		t := ts[i]
		prio, at := t.Priority, t.CreatedAt
		if prio == "" {
			prio = actors.PriorityNormal
		}
		if at.IsZero() {
			at = now
		}
		ids[j], names[j], descs[j], types[j] = textArg(t.ID), textArg(t.Name), nullableText(t.Description), textArg(t.Type)
		params[j], prios[j] = nullableText(string(t.Parameters)), textArg(string(prio))
		users[j], agents[j] = nullableText(t.UserID), nullableText(t.AgentID)
		maxes[j], ats[j] = pgtype.Int4{Int32: int32(t.MaxAttempts), Valid: true}, timeArg(at)
		switch {
		case how.starts != nil:
			leases[j] = pgtype.Int8{Int64: how.starts[i].Lease, Valid: true}
			starts[j] = timeArg(how.starts[i].At)
		case how.finishes != nil:
			f := how.finishes[i]
			leases[j] = pgtype.Int8{Int64: f.Lease, Valid: true}
			starts[j], ends[j] = timeArg(f.Outcome.StartedAt), timeArg(f.At)
			statuses[j] = nullableText(string(f.Outcome.Status))
			results[j], messages[j] = nullableText(string(f.Outcome.Result)), nullableText(f.Outcome.ErrorMessage)
		}
	}
	// args[0] is the execution mode, so args[k] is the statement's $k.
	query, args := createBatchSQL, []any{cachedPlan, ids, names, descs, types, params, prios, users, agents, maxes, ats,
		string(actors.StatusPending), leases, starts, statuses, ends, results, messages}
	switch {
	case how.enqueue:
		query, args[11] = enqueueBatchSQL, string(actors.StatusQueued)
		args = append(args, now)
	case how.starts != nil:
		query, args[11] = createStartedSQL, string(actors.StatusRunning)
	}
	c, err := r.db.acquire(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer c.Release()
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		return 0, 0, err
	}
	if how.starts != nil {
		list, err := collect(rows, scanTask)
		if err != nil {
			return 0, 0, err
		}
		got := make(map[string]store.Task, len(list))
		for _, t := range list {
			got[t.ID] = t
		}
		for _, i := range batch {
			var t store.Task
			ok := len(list) == 1 && n == 1
			if ok {
				// One task, perhaps alone (createAlone) with an id in a
				// form PostgreSQL reads and uuid does not: the row is its own.
				t = list[0]
			} else if n > 1 {
				t, ok = got[uuid.MustParse(ts[i].ID).String()]
			}
			if ok {
				started[i] = t
			} else if errs != nil {
				errs[i] = fmt.Errorf("store: create task %s: %w: the id exists", ts[i].ID, store.ErrConflict)
			}
		}
		return len(list), 0, nil
	}
	var id string
	var outbox int64
	dest := []any{&id}
	if how.enqueue {
		dest = append(dest, &outbox)
	}
	inserted := make(map[string]bool, n)
	_, err = pgx.ForEachRow(rows, dest, func() error {
		inserted[id] = true
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	for _, i := range batch {
		in := len(inserted) == 1 // one task, perhaps alone with an id uuid does not read (as above)
		if n > 1 {
			in = inserted[uuid.MustParse(ts[i].ID).String()]
		}
		if !in {
			errs[i] = fmt.Errorf("store: create task %s: %w: the id exists", ts[i].ID, store.ErrConflict)
		}
	}
	return len(inserted), outbox, nil
}

// copyFinishedColumns are the columns copyFinished fills, in its order.
var copyFinishedColumns = []string{"id", "name", "description", "task_type", "parameters", "priority",
	"user_id", "agent_id", "max_attempts", "created_at", "updated_at", "status",
	"attempts", "lease", "started_at", "completed_at", "result", "error_message"}

// copyFinished stores the rows ts[batch] made final as finishes says, with
// one COPY: the rows insertBatchSQL would insert for CreateFinished, without
// its ON CONFLICT. A COPY is all or nothing, so an id that exists fails the
// whole batch, and the caller then runs the statement, which tells each
// row's verdict; that is rare (a late copy of a task published straight to
// NATS, made between its node's check and this), and COPY costs PostgreSQL
// and this process less a row than a statement over sixteen arrays
// (docs/performance.md, step 27). The checks createBatch made before (ids
// valid and not repeated, parameters valid JSON) hold for every row.
func (r tasks) copyFinished(ctx context.Context, ts []actors.Task, batch []int, finishes []store.NewFinish) error {
	now := r.db.now()
	// One record, refilled for each row; row points at its fields, so pgx
	// boxes no value (as refs does for the statements' arrays).
	var rec struct {
		id, user, agent                        pgtype.UUID
		name, desc, typ, prio, status, message pgtype.Text
		maxAttempts, attempts                  pgtype.Int4
		lease                                  pgtype.Int8
		created, updated, started, completed   pgtype.Timestamptz
	}
	rec.attempts = pgtype.Int4{Int32: 1, Valid: true}
	row := []any{&rec.id, &rec.name, &rec.desc, &rec.typ, nil, &rec.prio, &rec.user, &rec.agent,
		&rec.maxAttempts, &rec.created, &rec.updated, &rec.status, &rec.attempts, &rec.lease, &rec.started,
		&rec.completed, nil, &rec.message}
	j := -1
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if j++; j == len(batch) {
			return nil, nil
		}
		i := batch[j]
		t, f := ts[i], finishes[i]
		prio, at, status := string(t.Priority), t.CreatedAt, string(f.Outcome.Status)
		if prio == "" {
			prio = string(actors.PriorityNormal)
		}
		if at.IsZero() {
			at = now
		}
		if status == "" {
			status = string(actors.StatusPending)
		}
		rec.id, rec.name, rec.desc, rec.typ = uuidArg(t.ID), textArg(t.Name), nullableText(t.Description), textArg(t.Type)
		rec.prio, rec.user, rec.agent = textArg(prio), nullableUUID(t.UserID), nullableUUID(t.AgentID)
		rec.maxAttempts = pgtype.Int4{Int32: int32(t.MaxAttempts), Valid: true}
		rec.created, rec.updated, rec.status = timeArg(at), timeArg(f.At), textArg(status)
		rec.lease = pgtype.Int8{Int64: f.Lease, Valid: true}
		rec.started, rec.completed = timeArg(f.Outcome.StartedAt), timeArg(f.At)
		rec.message = nullableText(f.Outcome.ErrorMessage)
		row[4], row[16] = jsonArg(t.Parameters), jsonArg(f.Outcome.Result)
		return row, nil
	})
	c, err := r.db.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	_, err = c.CopyFrom(ctx, pgx.Identifier{"tasks"}, copyFinishedColumns, src)
	return err
}
