package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// The group-commit writers (create_batch.go, finish_batch.go) write a batch
// with one statement per chunk of rows rather than one per row. A statement
// costs far more than the row it writes: database/sql and the driver take
// their locks and convert the arguments once per call, and SQLite opens the
// table's cursors, starts and ends a statement transaction and resets the
// program once per call. Spread over a chunk, that fixed part all but
// vanishes, and what remains is the B-tree work of each row.
//
// A chunk has a power-of-two number of rows, at most maxChunk: a batch of n
// rows takes at most log2(maxChunk)+n/maxChunk statements, and the write
// connection keeps log2(maxChunk) prepared statements per query (a chunk of
// one row runs the writer's statement for a row), where a statement per
// batch size would keep a few hundred.

// maxChunk is the most rows one statement writes. The writers' batches are
// capped at 256 (runner: maxSubmitBatch, maxResultBatch); a chunk of 256
// rows binds 2,816 values (11 a row for an insert), well below SQLite's
// limit of 32,766 (SQLITE_MAX_VARIABLE_NUMBER).
const maxChunk = 256

// chunkLen is the number of rows of the next chunk when n rows are left:
// the largest power of two no larger than n and maxChunk.
func chunkLen(n int) int {
	c := 1
	for c*2 <= min(n, maxChunk) {
		c *= 2
	}
	return c
}

// chunkQuery is a statement that writes rows given as a VALUES list: the
// text before and after the list, and one row of it. The row's placeholders
// are anonymous (?), its arguments taken in order, row after row: the
// driver looks up the name of every placeholder it binds, which SQLite
// finds by a walk of the statement's list of names, so with thousands of
// numbered ones ($N) binding took longer than the inserts.
type chunkQuery struct {
	head, row, tail string
}

// sql is the statement for n rows.
func (q chunkQuery) sql(n int) string {
	var b strings.Builder
	b.Grow(len(q.head) + n*(len(q.row)+3) + len(q.tail))
	b.WriteString(q.head)
	for k := range n {
		if k > 0 {
			b.WriteString(",\n\t")
		}
		b.WriteString(q.row)
	}
	b.WriteString(q.tail)
	return b.String()
}

// chunkStmts holds the prepared statements of one chunkQuery, by chunk
// length: the one of 2^(i+1) rows at index i.
type chunkStmts []*sql.Stmt

// of returns the statement of n rows; n is a chunkLen above 1.
func (s chunkStmts) of(n int) *sql.Stmt {
	i := 0
	for 2<<i < n {
		i++
	}
	return s[i]
}

// chunkStmts returns the write connection's prepared statements of q, one
// per chunk length, all prepared at the first call: a transaction cannot
// prepare what it turns out to need (see writeStmt). Like writeStmt, call it
// before taking the write connection for a transaction, never in one.
func (db *DB) chunkStmts(ctx context.Context, q chunkQuery) (chunkStmts, error) {
	return db.wstmts.chunks(ctx, db.write, q)
}
