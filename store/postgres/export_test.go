package postgres

import (
	"testing"

	"github.com/ymera/ymera/store/postgres/pgtest"
)

// MigratedDB is migratedDB for the tests of package postgres_test.
var MigratedDB = migratedDB

// migratedDB opens a store with opts on a fresh migrated database, closed
// when tb ends (before the database is dropped: cleanups run
// last-registered first).
func migratedDB(tb testing.TB, opts Options) *DB {
	tb.Helper()
	db, err := Open(tb.Context(), pgtest.NewDatabase(tb), opts)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(tb.Context()); err != nil {
		tb.Fatalf("migrate up: %v", err)
	}
	return db
}
