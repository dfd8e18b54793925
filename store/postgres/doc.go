// Package postgres is the production store: store.Store on PostgreSQL 15+
// through pgx/v5 and a pgxpool pool.
//
// Open builds the pool from the seed's settings (Options mirrors DB_POOL_SIZE,
// DB_MAX_OVERFLOW, DB_POOL_TIMEOUT, DB_POOL_RECYCLE and DB_ECHO) and does not
// connect or migrate; MigrateUp applies the goose migrations embedded from
// migrations/, under an advisory lock so that replicas can race it safely.
//
//	db, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Options{Logger: log})
//	if err != nil { ... }
//	defer db.Close()
//	if err := db.MigrateUp(ctx); err != nil { ... }
//
// Statements run in pgx's QueryExecModeCacheDescribe: described once per
// connection, planned at each execution. The default mode's cached prepared
// statements kept plans made while tables were small and made batched
// updates take ~15 ms each once they had grown. The exceptions run as
// cached prepared statements (see cachedPlan): the lookups by primary key
// that clients poll (a task, its attempts), whose parse and plan cost
// PostgreSQL more than running them, and the batch inserts of tasks; each
// has one sensible plan at any size. Concurrent reads of
// single tasks (Get, GetWithAttempts) share statements: while two run, the
// next queue, and one statement then answers all of them (reads.go).
// GetEnded, for a caller just told that a task ended, answers without a
// statement when this store recorded that end a moment ago (package
// store/internal/ended).
//
// Every method is one statement, or one short transaction where two tables
// change together (a file and its version). Task transitions are conditional
// UPDATEs with RETURNING, so the database, not the caller, decides which of
// two racing deliveries wins. Errors wrap store.ErrNotFound, store.ErrConflict
// and store.ErrUnavailable (see translate in errors.go) with the operation and
// the key. They never contain statement text, but a server message can quote
// an offending value: log them, and answer clients from the sentinel.
//
// Times are stored as TIMESTAMPTZ with microsecond precision and read back in
// UTC. Ids are UUIDs: a lookup by an id that is not a UUID is
// store.ErrNotFound without a round trip.
//
// The hot path (group-committed task inserts with CopyFrom, batched result
// updates) goes through Pool directly; the repositories are for everything
// else.
package postgres
