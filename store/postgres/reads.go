package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ymera/ymera/store"
)

// readSQL holds the read statements: readSQL[withAttempts][k] asks for
// 1<<k tasks by id, their attempt history aggregated as JSON beside each
// row when withAttempts (1), an empty list when not (0). A read of n tasks
// uses the smallest that holds n, the last id repeated to fill it.
//
// They run as cached prepared statements (cachedPlan), and each size has
// its own so that PostgreSQL's plan cache settles on a generic plan: an
// array parameter would be estimated at ten elements by the generic plan
// and at its true length by a custom one, and a single-id read then paid
// for planning at every execution. The ids come as a VALUES list joined
// laterally to a lookup by primary key, fenced with OFFSET 0: a generic
// plan made while the table was small (a hash join over a sequential scan,
// for WHERE id IN (...)) would otherwise be kept as the table grew.
var readSQL [2][pointReadSizes]string

func init() {
	for k := range pointReadSizes {
		var values strings.Builder
		for i := range 1 << k {
			if i > 0 {
				values.WriteString(", ")
			}
			fmt.Fprintf(&values, "($%d::uuid)", i+1)
		}
		from := `
	FROM (VALUES ` + values.String() + `) AS wanted(task_id)
	CROSS JOIN LATERAL (SELECT * FROM tasks WHERE tasks.id = wanted.task_id OFFSET 0) tasks`
		readSQL[0][k] = `SELECT ` + taskColumns + `, '[]'::text` + from
		readSQL[1][k] = `SELECT ` + taskColumns + `, (
		SELECT COALESCE(json_agg(json_build_object(
			'attempt', a.attempt, 'lease', a.lease, 'status', a.status, 'error', COALESCE(a.error, ''),
			'started_at', a.started_at, 'finished_at', a.finished_at) ORDER BY a.attempt), '[]')
		FROM task_attempts a WHERE a.task_id = tasks.id)` + from
	}
}

const (
	// pointReadSizes is how many statement sizes there are (1 to 256 ids).
	pointReadSizes = 9
	// pointReadMax is the most tasks one read statement asks for.
	pointReadMax = 1 << (pointReadSizes - 1)
	// Statements a taskReads runs at once. Reads of whole tasks
	// (GetWithAttempts: the answers of GET /tasks/{id}) run two: one alone
	// made a read under moderate load wait for the one running, and two did
	// as well under saturation (step 9 in docs/performance.md). Reads of
	// rows (Get) run one: most of them are a node's check, before it defers
	// a task's start, that the task has no row yet, thousands a second
	// under load and none when idle, where one statement at a time batches
	// twice the ids per statement and costs a task ~10 % less of
	// PostgreSQL's CPU (step 24); an idle read still runs at once.
	rowReadsInFlight    = 1
	detailReadsInFlight = 2
	// pointReadTimeout bounds a read statement, which runs for every
	// caller in it and so under none of their contexts.
	pointReadTimeout = 30 * time.Second
)

// taskReads answers concurrent reads of single tasks with shared
// statements; there is one for Get and one for GetWithAttempts. A read that
// finds a statement slot free (of inFlight) runs a statement at
// once, for itself and whatever queued meanwhile, so an idle store answers
// as fast as before. Reads that arrive while every slot is taken queue, and
// the next statement answers all of them. On PostgreSQL a lookup by primary
// key costs about the same for twenty ids as for one: the cost is the
// statement and its round trip, and clients waiting on their tasks
// (GET /tasks/{id}) make thousands of them a second.
//
// A read's statement starts after the read was asked for, so it sees every
// write committed before that.
type taskReads struct {
	db           *DB
	withAttempts bool // read the stored attempts too (GetWithAttempts)
	inFlight     int  // statements run at once, at most
	mu           sync.Mutex
	queue        []*taskRead
	running      int // statements running, at most inFlight
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
	lead := r.running < r.inFlight
	if lead {
		r.running++
	}
	r.mu.Unlock()
	if lead {
		// The queue held no read before c (it only holds reads while every
		// slot is taken), so c is in the batch this runs, or in the batch
		// of a read that took the other slot at the same moment.
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
		r.running--
		if r.running == 0 {
			r.queue = nil // let the backing array go
		}
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

// scan reads the tasks with ids (at most pointReadMax, each once) and
// calls found for each one it finds.
func (r *taskReads) scan(ctx context.Context, ids []string, found func(store.Task, []store.Attempt)) error {
	k := bits.Len(uint(len(ids) - 1)) // the smallest size that holds them
	args := make([]any, 1+1<<k)
	args[0] = cachedPlan
	for i := range 1 << k {
		args[1+i] = ids[min(i, len(ids)-1)]
	}
	which := 0
	if r.withAttempts {
		which = 1
	}
	rows, err := r.db.query(ctx, readSQL[which][k], args...)
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
