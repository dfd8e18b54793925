package postgres_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/postgres"
	"github.com/ymera/ymera/store/storetest"
)

// BenchmarkFinishBatch compares one FinishBatch with a loop of Finish.
func BenchmarkFinishBatch(b *testing.B) {
	db := benchDB(b)
	storetest.BenchFinish(b, db)
}

// BenchmarkFinishThenRead finishes a batch and reads each task as a waiting
// client does, by reading it (Read) or from what the finish kept (Kept,
// Built).
func BenchmarkFinishThenRead(b *testing.B) {
	storetest.BenchFinishThenRead(b, func(b *testing.B) store.Store { return benchDB(b) }, true)
}

// BenchmarkCreateBatch compares a loop of Create with CreateBatch and with
// EnqueueBatch, the submit writer's call.
func BenchmarkCreateBatch(b *testing.B) {
	db := benchDB(b)
	storetest.BenchCreate(b, db)
}

// BenchmarkStartBatch compares one StartBatch with a loop of Start.
func BenchmarkStartBatch(b *testing.B) {
	db := benchDB(b)
	storetest.BenchStart(b, db)
}

// BenchmarkRowless compares CreateStarted then FinishBatch with
// CreateFinished, for tasks published straight to NATS.
func BenchmarkRowless(b *testing.B) {
	db := benchDB(b)
	storetest.BenchRowless(b, db)
}

// BenchmarkGetParallel reads tasks by id from many goroutines at once, the
// load of clients waiting on their tasks; concurrent reads share statements
// (reads.go). Run with -cpu to vary the goroutines, e.g. -cpu 1,8,64.
func BenchmarkGetParallel(b *testing.B) {
	db := benchDB(b)
	ids := make([]string, 1000)
	tasks := make([]actors.Task, len(ids))
	for i := range ids {
		ids[i] = uuid.NewString()
		tasks[i] = actors.Task{ID: ids[i], Name: "bench", Type: "bench_job", Priority: actors.PriorityNormal,
			MaxAttempts: 1, CreatedAt: time.Now().UTC()}
	}
	if _, err := db.Tasks().CreateBatch(b.Context(), tasks); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(8) // goroutines per -cpu: reads wait on the database, not on CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)%int64(len(ids))]
			if _, err := db.Tasks().Get(b.Context(), id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchDB opens a store on a fresh migrated database, closed when b ends.
func benchDB(b *testing.B) *postgres.DB {
	b.Helper()
	return postgres.MigratedDB(b, postgres.Options{})
}
