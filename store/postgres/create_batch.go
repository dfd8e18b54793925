package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// createBatchSQL inserts many tasks in one statement: the batch arrives as
// parallel arrays. COPY would be faster still but cannot skip a row whose id
// exists; ON CONFLICT DO NOTHING can, and RETURNING says which rows went in,
// so the others are the conflicts.
const createBatchSQL = `INSERT INTO tasks (id, name, description, task_type, parameters,
		priority, user_id, agent_id, max_attempts, created_at, updated_at, status)
	SELECT b.id::uuid, b.name, b.description, b.task_type, b.parameters::jsonb,
		b.priority, b.user_id::uuid, b.agent_id::uuid, b.max_attempts, b.created_at, b.created_at, 'pending'
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::int[], $10::timestamptz[])
		AS b(id, name, description, task_type, parameters, priority, user_id, agent_id, max_attempts, created_at)
	ON CONFLICT (id) DO NOTHING
	RETURNING id::text`

// CreateBatch stores many new tasks as pending with one INSERT ... SELECT
// FROM unnest(...), the group commit of the submit writer. errs[i] is what
// Create would have returned for ts[i] called in turn: ErrConflict for an id
// that exists, also earlier in the same batch. A task the statement cannot
// take without failing the whole batch (a malformed id or JSON, an unknown
// user) is created on its own, so it gets Create's own error and costs the
// others nothing.
func (r tasks) CreateBatch(ctx context.Context, ts []actors.Task) ([]error, error) {
	errs := make([]error, len(ts))
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
	if len(batch) > 0 {
		err := r.insertBatch(ctx, ts, batch, errs)
		if err != nil {
			terr := translate(err)
			if errors.Is(terr, store.ErrUnavailable) || ctx.Err() != nil {
				return nil, fmt.Errorf("store: create %d tasks: %w", len(ts), terr)
			}
			// A row broke a constraint the checks above cannot see (an
			// unknown user or agent, an oversized name): nothing was
			// inserted, so let each task find its own verdict.
			alone = append(alone, batch...)
		}
	}
	for _, i := range alone {
		errs[i] = r.Create(ctx, ts[i])
		if errors.Is(errs[i], store.ErrUnavailable) {
			return nil, fmt.Errorf("store: create %d tasks: %w", len(ts), errs[i])
		}
	}
	return errs, nil
}

// insertBatch runs createBatchSQL for ts[batch...] (distinct, valid ids) and
// marks every task that did not go in as a conflict.
func (r tasks) insertBatch(ctx context.Context, ts []actors.Task, batch []int, errs []error) error {
	n := len(batch)
	ids, names, descs, types := make([]string, n), make([]string, n), make([]*string, n), make([]string, n)
	params, prios, users, agents := make([]*string, n), make([]string, n), make([]*string, n), make([]*string, n)
	maxes, ats := make([]int32, n), make([]time.Time, n)
	now := r.db.now()
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	for j, i := range batch {
		t := ts[i]
		ids[j], names[j], descs[j], types[j] = t.ID, t.Name, opt(t.Description), t.Type
		params[j], prios[j] = opt(string(t.Parameters)), string(t.Priority)
		users[j], agents[j], maxes[j], ats[j] = opt(t.UserID), opt(t.AgentID), int32(t.MaxAttempts), t.CreatedAt
		if prios[j] == "" {
			prios[j] = string(actors.PriorityNormal)
		}
		if ats[j].IsZero() {
			ats[j] = now
		}
	}
	c, err := r.db.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	rows, err := c.Query(ctx, createBatchSQL, ids, names, descs, types, params, prios, users, agents, maxes, ats)
	if err != nil {
		return err
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	inserted := make(map[string]bool, len(got))
	for _, id := range got {
		inserted[id] = true
	}
	for _, i := range batch {
		if !inserted[uuid.MustParse(ts[i].ID).String()] {
			errs[i] = fmt.Errorf("store: create task %s: %w: the id exists", ts[i].ID, store.ErrConflict)
		}
	}
	return nil
}
