package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements for the queries run most: on the read
// pool those clients poll (a task by id, its attempts), on the write
// connection the group-commit writers' statements (txStmt). The driver
// parses a statement given as text at every call, and for such a statement
// parsing costs about as much as running it. Statements are prepared on first use, not at
// Open, because Open does not migrate and the tables may not exist yet; a
// failed prepare is tried again next time. database/sql prepares each
// statement again on every pooled connection that runs it.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	chunky map[chunkQuery]chunkStmts // chunks.go
}

// stmt returns the prepared statement for query on db.
func (c *stmtCache) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

// chunks returns the prepared statements of q on db for every chunk
// length, preparing them all at the first call.
func (c *stmtCache) chunks(ctx context.Context, db *sql.DB, q chunkQuery) (chunkStmts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sts, ok := c.chunky[q]; ok {
		return sts, nil
	}
	var sts chunkStmts
	for n := 2; n <= maxChunk; n *= 2 {
		st, err := db.PrepareContext(ctx, q.sql(n))
		if err != nil {
			for _, st := range sts {
				st.Close()
			}
			return nil, err
		}
		sts = append(sts, st)
	}
	if c.chunky == nil {
		c.chunky = map[chunkQuery]chunkStmts{}
	}
	c.chunky[q] = sts
	return sts, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for q, st := range c.m {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.m, q)
	}
	for q, sts := range c.chunky {
		for _, st := range sts {
			if err := st.Close(); err != nil && first == nil {
				first = err
			}
		}
		delete(c.chunky, q)
	}
	return first
}

// writeStmt returns the write connection's prepared statement for query.
// Call it before taking the write connection for a transaction, never in
// one: the pool has one connection, which a first prepare would wait for;
// then bind it to the transaction with tx.StmtContext. Once prepared, the
// statement is never parsed again.
func (db *DB) writeStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return db.wstmts.stmt(ctx, db.write, query)
}
