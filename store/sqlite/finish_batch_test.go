package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/store/storetest"
)

// BenchmarkFinishBatch compares one FinishBatch with a loop of Finish.
func BenchmarkFinishBatch(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "ymera.db"), sqlite.Options{})
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(b.Context()); err != nil {
		b.Fatalf("migrate up: %v", err)
	}
	storetest.BenchFinish(b, db)
}

// BenchmarkStartBatch compares one StartBatch with a loop of Start.
func BenchmarkStartBatch(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "ymera.db"), sqlite.Options{})
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(b.Context()); err != nil {
		b.Fatalf("migrate up: %v", err)
	}
	storetest.BenchStart(b, db)
}
