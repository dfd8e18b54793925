package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/sqlite"
)

// tasksTable is where the pipeline's two writers write YMERA's tasks table.
type tasksTable interface {
	// insertQueued stores a batch of new tasks as queued, committed.
	insertQueued(ctx context.Context, batch []*submission) error
	// finish records the tasks ids completed by their one attempt,
	// committed.
	finish(ctx context.Context, ids []string) error
	// status reads one task's status; errNoTask when it has no row.
	status(ctx context.Context, id string) (string, error)
}

var errNoTask = errors.New("no such task")

// openTable migrates the database with YMERA's migrations and opens it
// for the pipeline, with a user of its own that the tasks belong to; stop
// closes it.
func openTable(ctx context.Context, o options) (t tasksTable, pg *pgTable, user uuid.UUID, stop func(), err error) {
	user = uuid.Must(uuid.NewV7())
	if o.store == "sqlite" {
		st, err := openSQLite(ctx, o.database, user)
		if err != nil {
			return nil, nil, user, nil, err
		}
		return st, nil, user, func() { st.db.Close() }, nil
	}
	if err := migrate(ctx, o.database); err != nil {
		return nil, nil, user, nil, err
	}
	if o.bare {
		if err := stripTasks(ctx, o.database); err != nil {
			return nil, nil, user, nil, err
		}
	}
	cfg, err := pgxpool.ParseConfig(o.database)
	if err != nil {
		return nil, nil, user, nil, fmt.Errorf("-database: %w", err)
	}
	cfg.MaxConns = int32(o.conns)
	// As the product does (DESIGN.md "Speed"): a cached generic plan made
	// while the table was small turns the batched UPDATE into a hash join.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, user, nil, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO users (id, username, email, hashed_password) VALUES ($1, $2, $3, 'x')`,
		user.String(), "floor_"+user.String(), "floor_"+user.String()+"@floor.invalid"); err != nil {
		pool.Close()
		return nil, nil, user, nil, fmt.Errorf("create the tasks' user: %w", err)
	}
	pg = &pgTable{pool: pool, user: pgtype.UUID{Bytes: user, Valid: true}}
	return pg, pg, user, pool.Close, nil
}

// pgTable writes PostgreSQL as DESIGN.md "Speed" has it: a batch's rows
// in one COPY, its results in one UPDATE ... FROM unnest(...).
type pgTable struct {
	pool *pgxpool.Pool
	user pgtype.UUID
}

func (t *pgTable) insertQueued(ctx context.Context, batch []*submission) error {
	now := time.Now()
	rows := make([][]any, len(batch))
	for i, s := range batch {
		rows[i] = []any{pgtype.UUID{Bytes: s.id, Valid: true}, s.name, s.kind, s.params, "normal", "queued",
			t.user, now, now}
	}
	_, err := t.pool.CopyFrom(ctx, pgx.Identifier{"tasks"},
		[]string{"id", "name", "task_type", "parameters", "priority", "status", "user_id", "created_at", "updated_at"},
		pgx.CopyFromRows(rows))
	return err
}

func (t *pgTable) finish(ctx context.Context, ids []string) error {
	_, err := t.pool.Exec(ctx, `UPDATE tasks SET status = 'completed', result = '{}', attempts = 1,
			started_at = $2, completed_at = $2, updated_at = $2
		FROM unnest($1::uuid[]) AS b(id)
		WHERE tasks.id = b.id AND tasks.status = 'queued'`, ids, time.Now())
	return err
}

func (t *pgTable) status(ctx context.Context, id string) (string, error) {
	var status string
	err := t.pool.QueryRow(ctx, `SELECT status FROM tasks WHERE id = $1`, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errNoTask
	}
	return status, err
}

// insertFinished makes the rows of a batch of task messages, each already
// completed by its one attempt, in one COPY, and appends their ids to ids
// (-via nats).
func (t *pgTable) insertFinished(ctx context.Context, batch []jetstream.Msg, ids []string) ([]string, error) {
	now := time.Now()
	rows := make([][]any, 0, len(batch))
	for _, m := range batch {
		d := m.Data()
		var body struct {
			Name       string          `json:"name"`
			TaskType   string          `json:"task_type"`
			Parameters json.RawMessage `json:"parameters"`
		}
		if len(d) < 36 {
			return ids, errors.New("a task message without its id")
		}
		id, err := uuid.Parse(string(d[:36]))
		if err == nil {
			err = json.Unmarshal(d[36:], &body)
		}
		if err != nil {
			return ids, fmt.Errorf("task message: %w", err)
		}
		ids = append(ids, string(d[:36]))
		rows = append(rows, []any{pgtype.UUID{Bytes: id, Valid: true}, body.Name, body.TaskType, body.Parameters,
			"normal", "completed", json.RawMessage(`{}`), 1, t.user, now, now, now, now})
	}
	_, err := t.pool.CopyFrom(ctx, pgx.Identifier{"tasks"},
		[]string{"id", "name", "task_type", "parameters", "priority", "status", "result", "attempts", "user_id",
			"created_at", "started_at", "completed_at", "updated_at"},
		pgx.CopyFromRows(rows))
	return ids, err
}

// sqliteTable writes a SQLite file through YMERA's own store, the way the
// product's writers do on its embedded default: EnqueueBatch (the rows and
// their outbox entry) then ClearOutbox, and FinishBatch of attempts whose
// start was never recorded. That store is SQLite's tuning for these
// batches (one writer connection, statements in chunks, a checkpointer
// off the writer's path); what it adds to the design's two statements is
// the outbox entry and its delete.
type sqliteTable struct {
	db   *sqlite.DB
	user string
}

func openSQLite(ctx context.Context, path string, user uuid.UUID) (*sqliteTable, error) {
	db, err := sqlite.Open(ctx, path, sqlite.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if err := db.MigrateUp(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	now := time.Now().UTC()
	if err := db.Users().Create(ctx, store.User{ID: user.String(), Username: "floor_" + user.String(),
		Email: "floor_" + user.String() + "@floor.invalid", HashedPassword: "x", Role: "user", IsActive: true,
		CreatedAt: now, UpdatedAt: now}); err != nil {
		db.Close()
		return nil, fmt.Errorf("create the tasks' user: %w", err)
	}
	return &sqliteTable{db: db, user: user.String()}, nil
}

func (t *sqliteTable) insertQueued(ctx context.Context, batch []*submission) error {
	now := time.Now().UTC()
	ts := make([]actors.Task, len(batch))
	for i, s := range batch {
		ts[i] = actors.Task{ID: s.id.String(), Name: s.name, Type: s.kind, Parameters: s.params,
			Priority: actors.PriorityNormal, UserID: t.user, CreatedAt: now}
	}
	outbox, errs, err := t.db.Tasks().EnqueueBatch(ctx, ts)
	if err == nil {
		err = errors.Join(errs...)
	}
	if err != nil {
		return err
	}
	return t.db.Tasks().ClearOutbox(ctx, outbox)
}

func (t *sqliteTable) finish(ctx context.Context, ids []string) error {
	now := time.Now().UTC()
	items := make([]store.Finished, len(ids))
	for i, id := range ids {
		items[i] = store.Finished{ID: id, Lease: 1, At: now,
			Outcome: store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{}`), StartedAt: now}}
	}
	errs, err := t.db.Tasks().FinishBatch(ctx, items)
	if err == nil {
		err = errors.Join(errs...)
	}
	return err
}

func (t *sqliteTable) status(ctx context.Context, id string) (string, error) {
	task, err := t.db.Tasks().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", errNoTask
	}
	return string(task.Status), err
}
