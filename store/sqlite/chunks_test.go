package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestChunkLen checks that chunks cover any batch in order with few
// statements, each of a length that has one.
func TestChunkLen(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 3*maxChunk+1; n++ {
		statements, left := 0, n
		for left > 0 {
			c := chunkLen(left)
			if c < 1 || c > left || c > maxChunk || c&(c-1) != 0 {
				t.Fatalf("chunkLen(%d) = %d, want a power of two in [1, min(%d, %d)]", left, c, left, maxChunk)
			}
			left -= c
			statements++
		}
		// At most one statement per bit of n below maxChunk, plus the full chunks.
		if most := n/maxChunk + 8; statements > most {
			t.Errorf("%d rows take %d statements, want at most %d", n, statements, most)
		}
	}
}

func TestChunkQuerySQL(t *testing.T) {
	t.Parallel()
	q := chunkQuery{head: "INSERT INTO t VALUES ", row: "(?, ?, 'x')", tail: " RETURNING id"}
	want := "INSERT INTO t VALUES (?, ?, 'x'),\n\t(?, ?, 'x'),\n\t(?, ?, 'x') RETURNING id"
	if got := q.sql(3); got != want {
		t.Errorf("sql(3) = %q, want %q", got, want)
	}
	// The longest chunk must stay within SQLite's limit on bound values.
	for _, q := range []chunkQuery{insertTaskChunk, enqueueTaskChunk, finishChunk, finishKeepChunk} {
		if n := strings.Count(q.sql(maxChunk), "?"); n > 32766 {
			t.Errorf("%d values bound by a chunk of %.20q..., SQLite takes at most 32766", n, q.head)
		}
	}
}

// TestWriteTempStore checks that the write connection keeps statement
// journals in memory (see Open): without it, a chunk's statement creates a
// temporary file.
func TestWriteTempStore(t *testing.T) {
	t.Parallel()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "ymera.db"), Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	var mode int
	if err := db.write.QueryRowContext(t.Context(), "PRAGMA temp_store").Scan(&mode); err != nil {
		t.Fatalf("temp_store: %v", err)
	}
	if mode != 2 {
		t.Errorf("temp_store = %d on the write connection, want 2 (MEMORY)", mode)
	}
}
