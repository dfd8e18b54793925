package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ymera/ymera/store"
)

// readTasksSQL reads tasks by id with their attempt history: the statement
// of every Get and GetWithAttempts, for one id or many. It runs as a cached
// prepared statement (pointLookup), whose generic plan is made once, maybe
// while the table is small: WHERE id = ANY($1) then gets a sequential scan
// that stays as the table grows. The lateral subquery, kept apart by
// OFFSET 0, is a lookup by primary key for each id, which no table size
// makes worse than a scan.
const readTasksSQL = `SELECT ` + taskColumns + `, (
		SELECT COALESCE(json_agg(json_build_object(
			'attempt', a.attempt, 'lease', a.lease, 'status', a.status, 'error', COALESCE(a.error, ''),
			'started_at', a.started_at, 'finished_at', a.finished_at) ORDER BY a.attempt), '[]')
		FROM task_attempts a WHERE a.task_id = tasks.id)
	FROM unnest($1::uuid[]) AS wanted(task_id)
	CROSS JOIN LATERAL (SELECT * FROM tasks WHERE tasks.id = wanted.task_id OFFSET 0) tasks`

const (
	// pointReadMax is the most tasks one read statement asks for.
	pointReadMax = 256
	// pointReadTimeout bounds a read statement, which runs for every
	// caller in it and so under none of their contexts.
	pointReadTimeout = 30 * time.Second
)

// taskReads answers concurrent reads of single tasks with shared
// statements. A read that finds no statement of its own kind running runs
// one at once, for itself and whatever queued meanwhile, so an idle store
// answers as fast as before. Reads that arrive while it runs queue, and the
// next statement answers all of them. On PostgreSQL a lookup by primary
// key costs about the same for twenty ids as for one: the cost is the
// statement and its round trip, and clients waiting on their tasks
// (GET /tasks/{id}) make thousands of them a second.
//
// A read's statement starts after the read was asked for, so it sees every
// write committed before that.
type taskReads struct {
	db      *DB
	mu      sync.Mutex
	queue   []*taskRead
	running bool
	// statements counts the statements run, for tests.
	statements atomic.Int64
}

// taskRead is one caller's read: id in canonical form, and its answer once
// done is closed.
type taskRead struct {
	ctx      context.Context // the caller's; a read whose caller left is not run
	id       string
	done     chan struct{}
	task     store.Task
	attempts []store.Attempt
	err      error
}

// get reads the task with id (a valid UUID, in any of its spellings). A
// missing task is store.ErrNotFound; other errors are translated.
func (r *taskReads) get(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	c := &taskRead{ctx: ctx, id: canonicalID(id), done: make(chan struct{})}
	r.mu.Lock()
	r.queue = append(r.queue, c)
	lead := !r.running
	r.running = true
	r.mu.Unlock()
	if lead {
		// The queue was empty (it only holds reads while one runs), so c
		// is in the batch this runs.
		r.run(ctx)
	}
	select {
	case <-c.done:
		return c.task, c.attempts, c.err
	case <-ctx.Done():
		return store.Task{}, nil, translate(ctx.Err())
	}
}

// run answers the first pointReadMax reads of the queue with one
// statement, then leaves the rest, if any, to a new goroutine, so that the
// caller that ran it returns with its answer.
func (r *taskReads) run(ctx context.Context) {
	r.mu.Lock()
	n := min(len(r.queue), pointReadMax)
	batch := r.queue[:n:n]
	r.queue = r.queue[n:]
	r.mu.Unlock()

	// Not under the caller's context: one caller leaving must not fail
	// the others (each stops waiting on its own context).
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pointReadTimeout)
	r.read(sctx, batch)
	cancel()

	r.mu.Lock()
	more := len(r.queue) > 0
	if !more {
		r.running = false
		r.queue = nil // let the backing array go
	}
	r.mu.Unlock()
	if more {
		go r.run(ctx)
	}
}

// read answers batch with one statement. Reads whose callers have left
// are dropped first, so that a queue built up while the database was slow
// costs only the callers still waiting.
func (r *taskReads) read(ctx context.Context, batch []*taskRead) {
	ids := make([]string, 0, len(batch))
	byID := make(map[string][]*taskRead, len(batch))
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = translate(err)
			close(c.done)
			continue
		}
		if _, seen := byID[c.id]; !seen {
			ids = append(ids, c.id)
		}
		byID[c.id] = append(byID[c.id], c)
	}
	if len(ids) == 0 {
		return
	}
	r.statements.Add(1)
	err := r.scan(ctx, ids, func(t store.Task, attempts []store.Attempt) {
		for _, c := range byID[t.ID] {
			c.task, c.attempts = t, attempts
			close(c.done)
		}
		delete(byID, t.ID)
	})
	if err == nil {
		err = store.ErrNotFound // whatever is left was not found
	}
	for _, cs := range byID {
		for _, c := range cs {
			c.err = err
			close(c.done)
		}
	}
}

// scan runs readTasksSQL for ids and calls found for each task it finds.
func (r *taskReads) scan(ctx context.Context, ids []string, found func(store.Task, []store.Attempt)) error {
	rows, err := r.db.query(ctx, readTasksSQL, pointLookup, ids)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	// One destination for every row: each column is scanned anew, and the
	// byte slices come back freshly allocated.
	var (
		row                       store.Task
		parameters, res, attempts []byte
	)
	dest := append(taskDest(&row, &parameters, &res), &attempts)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return translate(err)
		}
		t := row
		finishScan(&t, parameters, res)
		list, err := decodeAttempts(attempts)
		if err != nil {
			return err
		}
		found(t, list)
	}
	return translate(rows.Err())
}

// decodeAttempts decodes the JSON array readTasksSQL builds from a task's
// attempt rows.
func decodeAttempts(raw []byte) ([]store.Attempt, error) {
	if string(raw) == "[]" { // most tasks: the row describes their only attempt
		return make([]store.Attempt, 0, 1), nil
	}
	var rows []struct {
		Attempt    int        `json:"attempt"`
		Lease      int64      `json:"lease"`
		Status     string     `json:"status"`
		Error      string     `json:"error"`
		StartedAt  time.Time  `json:"started_at"`
		FinishedAt *time.Time `json:"finished_at"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("decode attempts: %w", err)
	}
	list := make([]store.Attempt, len(rows), len(rows)+1)
	for i, a := range rows {
		list[i] = store.Attempt{Attempt: a.Attempt, Lease: a.Lease, Status: a.Status, Error: a.Error,
			StartedAt: a.StartedAt.UTC(), FinishedAt: utc(a.FinishedAt)}
	}
	return list, nil
}
