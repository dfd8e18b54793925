// Package sqlite is the embedded store: store.Store on SQLite through the
// pure-Go modernc.org/sqlite driver, so the ymera binary needs no cgo and no
// database server. `ymera serve` uses it by default, in ./data/ymera.db.
//
//	db, err := sqlite.Open(ctx, "data/ymera.db", sqlite.Options{Logger: log})
//	if err != nil { ... }
//	defer db.Close()
//	if err := db.MigrateUp(ctx); err != nil { ... }
//
// Open creates the file and its directory, and does not migrate; MigrateUp
// applies the goose migrations embedded from migrations/.
//
// The file is in WAL mode with foreign keys enforced. SQLite has one writer:
// DB funnels every write through a single connection so that concurrent
// writers of this process queue in Go instead of failing with SQLITE_BUSY,
// and serves reads from a separate pool of query-only connections, which WAL
// lets run while a write is in progress. A goroutine with a connection of
// its own copies the log into the database file (checkpoints, and their
// fsyncs), so that commits do not wait for them (checkpoint.go).
//
// The statements mirror store/postgres one for one (SQLite accepts the same
// $N placeholders and RETURNING), so the two backends differ only where the
// dialects do: ids, timestamps and JSON are TEXT here (see the migration for
// the formats), MarkQueued binds its ids as one JSON array, project search is
// LIKE rather than full-text. Times are stored with microsecond precision in
// UTC, as on PostgreSQL, so the contract suite holds both to the same
// results.
package sqlite
