package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ymera/ymera/store"
)

// The helpers below are pgxpool's QueryRow, Query and Exec with one
// difference: the wait for a connection is bounded by PoolTimeout (pgxpool
// has no acquire timeout of its own, and bounding the whole call would also
// cut off a slow but healthy statement).

// acquire takes a connection from the pool, waiting at most PoolTimeout. A
// wait that times out, or a connection that cannot be made, while the
// caller's ctx is still live is store.ErrUnavailable.
func (db *DB) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, db.poolTimeout)
	defer cancel()
	c, err := db.pool.Acquire(actx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: acquire connection: %w", store.ErrUnavailable, err)
	}
	return c, nil
}

// queryRow runs a query expected to return at most one row. The connection
// goes back to the pool when the row is scanned.
func (db *DB) queryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c, err := db.acquire(ctx)
	if err != nil {
		return errRow{err}
	}
	return connRow{row: c.QueryRow(ctx, sql, args...), conn: c}
}

// cachedPlan, passed as a statement's first argument, runs it as a
// prepared statement cached per connection (pgx.QueryExecModeCacheStatement)
// instead of the pool's default, which parses and plans at every execution
// (see Open). PostgreSQL may then keep one generic plan for good, so it is
// only for statements that have one sensible plan whatever the tables'
// sizes:
//   - the reads polled hardest (a task by id, its attempts: reads.go), by
//     primary key; skipping parse and plan halves what PostgreSQL spends
//     on them;
//   - the batch inserts (insertBatchSQL and the statements built on it),
//     which read no table: a scan of the unnested arrays feeds the insert,
//     with the primary key as the conflict arbiter. Parsing and planning
//     one cost PostgreSQL 250-400 µs, a quarter of a 46-row insert.
//
// The batched UPDATEs are not among them: a generic plan made while the
// table was small joins it by a sequential scan, and keeps doing so.
const cachedPlan = pgx.QueryExecModeCacheStatement

// query runs a query. The connection goes back to the pool when the rows are
// closed (pgx.CollectRows and AppendRows close them).
func (db *DB) query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, err := db.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		c.Release()
		return nil, err
	}
	return &connRows{Rows: rows, conn: c}, nil
}

// exec runs a statement that returns no rows.
func (db *DB) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c, err := db.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer c.Release()
	return c.Exec(ctx, sql, args...)
}

// inTx runs f in a transaction, committing when f returns nil and rolling
// back otherwise.
func (db *DB) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	c, err := db.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return pgx.BeginFunc(ctx, c, f)
}

// connRow releases its connection once scanned.
type connRow struct {
	row  pgx.Row
	conn *pgxpool.Conn
}

// Scan scans the row and releases the connection.
func (r connRow) Scan(dest ...any) error {
	defer r.conn.Release()
	return r.row.Scan(dest...)
}

// errRow is a row whose connection could not be had.
type errRow struct{ err error }

// Scan returns the acquire error.
func (r errRow) Scan(...any) error { return r.err }

// connRows releases its connection once closed.
type connRows struct {
	pgx.Rows
	conn *pgxpool.Conn
	once sync.Once
}

// Close closes the rows and releases the connection, once.
func (r *connRows) Close() {
	r.Rows.Close()
	r.once.Do(r.conn.Release)
}
