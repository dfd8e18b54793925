package postgres

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ymera/ymera/store"
)

// A client waiting for its task (GET /tasks/{task_id}?wait=) is told by an
// event that the task ended and then reads it. When the end was recorded
// by this store, FinishBatch had the row in hand already: the UPDATE
// returns what it wrote. endedRows keeps those rows for a moment, so that
// the waiter's read (GetEnded) costs no statement. Under a closed loop of
// clients that submit and wait, that read was one statement of three per
// task (docs/performance.md, step 17).
//
// Only a first attempt's end is kept: for a later one, the statement's own
// trigger records the attempt it ended in task_attempts, which RETURNING
// does not see. Revive, the one transition out of a final status, drops
// the task's row. A change made through another store (another node) is
// not seen here; a kept row is served for endedKeep at most, so that is how
// long such a change can go unseen by GetEnded, and only by it.

const (
	// endedKeep is how long a kept row is served after its end.
	endedKeep = 2 * time.Second
	// endedCap is how many rows are kept at most, the newest. At 10,000
	// tasks a second that is most of a second of them.
	endedCap = 1 << 13
	// endedBudget bounds the kept rows' size (endedRow.size): past it the
	// oldest go first.
	endedBudget = 8 << 20
	// endedMaxBytes leaves out rows whose parameters and result are larger:
	// they are read instead.
	endedMaxBytes = 16 << 10
	// endedRowOverhead is what a kept row costs besides its variable-length
	// fields: the row, its attempt, its map entry and ring slot.
	endedRowOverhead = 512
	// endedWanted is how long after the last GetEnded FinishBatch goes on
	// returning the rows it ends.
	endedWanted = 30 * time.Second
)

// endedRow is a task as its end left it, with its attempts.
type endedRow struct {
	task     store.Task
	attempts []store.Attempt
	size     int       // roughly the bytes it holds
	at       time.Time // when it was kept
}

// endedBatch is what one FinishBatch ended, by canonical id, until it
// commits.
type endedBatch map[string]endedRow

// add keeps t, returned by the statement that ended it with its stored
// attempts as JSON (storedAttempts), if it is worth keeping.
func (b endedBatch) add(t store.Task, attempts []byte) {
	if t.Attempts != 1 || len(t.Parameters)+len(t.Result) > endedMaxBytes {
		return
	}
	list, err := decodeAttempts(attempts)
	if err != nil {
		return // read instead, which reports it
	}
	size := endedRowOverhead + len(t.Parameters) + len(t.Result) + len(t.Name) + len(t.Description) + len(t.ErrorMessage)
	b[t.ID] = endedRow{task: t, attempts: store.WithRowAttempt(t, list), size: size}
}

// endedRows is the store's kept rows: a map, and a ring of its keys in the
// order they came, the oldest overwritten first. Rows are kept only while
// someone asks for them: FinishBatch returns them when GetEnded was called
// in the last endedWanted, and only the order of its items otherwise.
type endedRows struct {
	asked atomic.Int64 // when GetEnded was last called, in Unix nanoseconds

	mu    sync.Mutex
	rows  map[string]endedRow
	ring  []string // ids in the order kept, "" where one was dropped
	next  int      // the oldest slot, overwritten next
	bytes int      // the kept rows' sizes, at most endedBudget
}

// wanted says whether GetEnded was called lately (endedWanted).
func (e *endedRows) wanted() bool {
	return time.Since(time.Unix(0, e.asked.Load())) < endedWanted
}

// ask notes a call of GetEnded.
func (e *endedRows) ask() {
	if now := time.Now().UnixNano(); now-e.asked.Load() > int64(time.Second) {
		e.asked.Store(now) // at most once a second: no cache line to fight over
	}
}

// keep adds a committed batch, dropping the oldest rows to make room.
func (e *endedRows) keep(b endedBatch) {
	if len(b) == 0 {
		return
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rows == nil {
		e.rows = make(map[string]endedRow, len(b))
		e.ring = make([]string, endedCap)
	}
	for id, row := range b {
		e.forgetLocked(id) // kept before: rare, a task ends once per attempt
		e.evict(e.next)
		for i := 1; e.bytes+row.size > endedBudget && i < len(e.ring); i++ {
			e.evict((e.next + i) % len(e.ring))
		}
		row.at = now
		e.rows[id] = row
		e.bytes += row.size
		e.ring[e.next] = id
		e.next = (e.next + 1) % len(e.ring)
	}
}

// get returns the kept row of id (canonical), if one is fresh.
func (e *endedRows) get(id string) (endedRow, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	row, ok := e.rows[id]
	if !ok || time.Since(row.at) > endedKeep {
		return endedRow{}, false
	}
	return row, true
}

// forget drops the kept row of id (canonical): the task has moved on.
func (e *endedRows) forget(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forgetLocked(id)
}

// forgetLocked is forget with e.mu held.
func (e *endedRows) forgetLocked(id string) {
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
func (e *endedRows) evict(i int) {
	id := e.ring[i]
	if id == "" {
		return
	}
	e.bytes -= e.rows[id].size
	delete(e.rows, id)
	e.ring[i] = ""
}

// GetEnded returns the task and its attempts as GetWithAttempts does, for a
// caller that has just learned that the task ended: if this store recorded
// that end within endedKeep, as the end left it, without a statement.
func (r tasks) GetEnded(ctx context.Context, id string) (store.Task, []store.Attempt, error) {
	r.db.ended.ask()
	if validID(id) {
		if row, ok := r.db.ended.get(canonicalID(id)); ok {
			// Copies: callers may append to the list, and others share it.
			return row.task, slices.Clone(row.attempts), nil
		}
	}
	return r.GetWithAttempts(ctx, id)
}
