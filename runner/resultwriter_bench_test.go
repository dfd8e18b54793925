package runner

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// discardStore takes every batch at once and writes nothing: under it, a
// benchmark of the result writer measures the writer's own cost per item
// (its channels, batching and copies), which the store benchmarks
// (store/*/finish_batch_test.go) leave out.
type discardStore struct{}

func (discardStore) FinishBatch(_ context.Context, items []store.Finished) ([]error, error) {
	return make([]error, len(items)), nil
}

func (discardStore) Finish(context.Context, string, int64, store.Outcome, time.Time) error {
	return nil
}

func (discardStore) CreateFinished(_ context.Context, items []store.NewFinish) ([]error, error) {
	return make([]error, len(items)), nil
}

// BenchmarkResultWriter has 64 callers per CPU record outcomes through one
// writer, as a node's settling attempts do: Finish (a task with a row) and
// CreateFinished (a task published straight to NATS, its row made with
// its outcome). allocs/op and B/op are the writer's per item, and cpu-ns/op
// the CPU the process spent per item (ns/op is wall time, most of it the
// writer's 1 ms linger while the callers wait).
func BenchmarkResultWriter(b *testing.B) {
	task := actors.Task{ID: "0193a8f2-0000-7000-8000-000000000000", Name: "bench", Type: "bench_noop",
		Priority: actors.PriorityNormal, UserID: "u1", MaxAttempts: 3, CreatedAt: time.Now()}
	outcome := store.Outcome{Status: actors.StatusCompleted, Result: []byte(`{"ok":true}`), StartedAt: time.Now()}
	for _, mode := range []string{"Finish", "CreateFinished"} {
		b.Run(mode, func(b *testing.B) {
			w := newResultWriter(discardStore{}, slog.New(slog.DiscardHandler), nil)
			defer w.Stop()
			var seq atomic.Int64
			b.SetParallelism(64)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					n := seq.Add(1)
					var err error
					if mode == "Finish" {
						err = w.Finish(ctx, strconv.FormatInt(n, 10), n, outcome, time.Now())
					} else {
						err = w.CreateFinished(ctx, store.NewFinish{Task: task, Lease: n, Outcome: outcome, At: time.Now()})
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
