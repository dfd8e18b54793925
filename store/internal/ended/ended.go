// Package ended keeps, for a moment, the rows of tasks whose end a store
// just recorded, so that a client waiting on its task (GET
// /tasks/{task_id}?wait=) can be answered without reading the row back.
//
// A store's batched finish returns what it wrote while someone asks for
// ended tasks (Rows.Wanted), adds those rows in a Batch, and hands the
// Batch to Rows.Keep once it has committed; the store's GetEnded asks
// Rows.Get first and reads the task only when it has nothing fresh. Only a
// first attempt with no stored attempts is kept: a later attempt's end
// writes the attempt it ended to task_attempts in the same statement,
// which the statement's own RETURNING does not see. The store drops a
// task's row (Forget) before any transition out of a final status.
//
// A change made through another store (another node) is not seen here; a
// kept row is served for Keep at most, so that is how long such a change
// can go unseen by GetEnded, and only by it.
package ended

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ymera/ymera/store"
)

const (
	// Keep is how long a kept row is served after its end.
	Keep = 2 * time.Second
	// capacity is how many rows are kept at most, the newest. At 10,000
	// tasks a second that is most of a second of them.
	capacity = 1 << 13
	// budget bounds the kept rows' size (row.size): past it the oldest go
	// first.
	budget = 8 << 20
	// maxBytes leaves out rows whose parameters and result are larger:
	// they are read instead.
	maxBytes = 16 << 10
	// rowOverhead is what a kept row costs besides its variable-length
	// fields: the row, its attempt, its map entry and ring slot.
	rowOverhead = 512
	// wanted is how long after the last Ask a store's finish goes on
	// returning the rows it ends.
	wanted = 30 * time.Second
)

// row is a task as its end left it, with its attempts.
type row struct {
	task     store.Task
	attempts []store.Attempt
	size     int       // roughly the bytes it holds
	at       time.Time // when it was kept
}

// Batch is what one batched finish ended, by canonical id, until it
// commits. The zero Batch is not usable: make one with make.
type Batch map[string]row

// Add keeps t, as the statement that ended it returned it, if it is worth
// keeping: a first attempt, with no attempts in task_attempts before that
// statement (stored says there were), and not too large.
func (b Batch) Add(t store.Task, stored bool) {
	if t.Attempts != 1 || stored || len(t.Parameters)+len(t.Result) > maxBytes {
		return
	}
	size := rowOverhead + len(t.Parameters) + len(t.Result) + len(t.Name) + len(t.Description) + len(t.ErrorMessage)
	b[t.ID] = row{task: t, attempts: store.WithRowAttempt(t, nil), size: size}
}

// Drop removes id (canonical) from the batch: a round run again after an
// abort replaces what the aborted run added.
func (b Batch) Drop(id string) { delete(b, id) }

// Rows is a store's kept rows: a map, and a ring of its keys in the order
// they came, the oldest overwritten first. The zero Rows is ready to use.
type Rows struct {
	asked atomic.Int64 // when Ask was last called, in Unix nanoseconds

	mu    sync.Mutex
	rows  map[string]row
	ring  []string // ids in the order kept, "" where one was dropped
	next  int      // the oldest slot, overwritten next
	bytes int      // the kept rows' sizes, at most budget
}

// Wanted says whether Ask was called in the last 30 s: whether a finish
// should return the rows it ends.
func (e *Rows) Wanted() bool {
	return time.Since(time.Unix(0, e.asked.Load())) < wanted
}

// Ask notes that someone asks for ended tasks (a store's GetEnded).
func (e *Rows) Ask() {
	if now := time.Now().UnixNano(); now-e.asked.Load() > int64(time.Second) {
		e.asked.Store(now) // at most once a second: no cache line to fight over
	}
}

// Keep adds a committed batch, dropping the oldest rows to make room.
func (e *Rows) Keep(b Batch) {
	if len(b) == 0 {
		return
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rows == nil {
		e.rows = make(map[string]row, len(b))
		e.ring = make([]string, capacity)
	}
	for id, r := range b {
		e.forget(id) // kept before: rare, a task ends once per attempt
		e.evict(e.next)
		for i := 1; e.bytes+r.size > budget && i < len(e.ring); i++ {
			e.evict((e.next + i) % len(e.ring))
		}
		r.at = now
		e.rows[id] = r
		e.bytes += r.size
		e.ring[e.next] = id
		e.next = (e.next + 1) % len(e.ring)
	}
}

// Get returns the kept task id (canonical) and its attempts, if it is
// fresh (Keep). The list is the caller's own.
func (e *Rows) Get(id string) (store.Task, []store.Attempt, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.rows[id]
	if !ok || time.Since(r.at) > Keep {
		return store.Task{}, nil, false
	}
	return r.task, slices.Clone(r.attempts), true
}

// Forget drops the kept row of id (canonical): the task moves on.
func (e *Rows) Forget(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forget(id)
}

// forget is Forget with e.mu held.
func (e *Rows) forget(id string) {
	if _, ok := e.rows[id]; !ok {
		return
	}
	for i, k := range e.ring {
		if k == id {
			e.evict(i)
			return
		}
	}
}

// evict drops the row in ring slot i, if any; e.mu is held.
func (e *Rows) evict(i int) {
	id := e.ring[i]
	if id == "" {
		return
	}
	e.bytes -= e.rows[id].size
	delete(e.rows, id)
	e.ring[i] = ""
}
