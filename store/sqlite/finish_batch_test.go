package sqlite_test

import (
	"testing"

	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/storetest"
)

// BenchmarkCreateBatch compares CreateBatch and EnqueueBatch with a loop of
// Create.
func BenchmarkCreateBatch(b *testing.B) { storetest.BenchCreate(b, migrated(b)) }

// BenchmarkFinishBatch compares one FinishBatch with a loop of Finish.
func BenchmarkFinishBatch(b *testing.B) { storetest.BenchFinish(b, migrated(b)) }

// BenchmarkFinishThenRead finishes a batch and reads each task as a waiting
// client does, by reading it (Read) or from what the finish kept (Kept,
// Built).
func BenchmarkFinishThenRead(b *testing.B) {
	storetest.BenchFinishThenRead(b, func(b *testing.B) store.Store { return migrated(b) }, false)
}

// BenchmarkStartBatch compares one StartBatch with a loop of Start.
func BenchmarkStartBatch(b *testing.B) { storetest.BenchStart(b, migrated(b)) }

// BenchmarkRowless compares CreateStarted then FinishBatch with
// CreateFinished, for tasks published straight to NATS.
func BenchmarkRowless(b *testing.B) { storetest.BenchRowless(b, migrated(b)) }
