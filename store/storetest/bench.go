package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/internal/procstat"
	"github.com/ymera/ymera/store"
)

// benchBatch is the batch size of BenchFinish and BenchStart: the cap of the
// result and start writers.
const benchBatch = 256

// allDone fails b unless a batch call (what) went through whole: no error
// for the batch, none for any item.
func allDone(b *testing.B, what string, errs []error, err error) {
	b.Helper()
	if err == nil {
		err = errors.Join(errs...)
	}
	if err != nil {
		b.Fatalf("%s: %v", what, err)
	}
}

// benchTask is a new bench_noop task, created at now, that runs once.
func benchTask(now time.Time) actors.Task {
	return actors.Task{ID: newID(), Name: "bench", Type: "bench_noop", Parameters: json.RawMessage(`{}`),
		Priority: actors.PriorityNormal, MaxAttempts: 1, CreatedAt: now}
}

// BenchFinish compares recording benchBatch outcomes one Finish at a time
// ("Loop") with one FinishBatch ("Batch"), on the store s (migrated). The
// tasks are created and started outside the timer; the figure to compare
// is ns/task.
func BenchFinish(b *testing.B, s store.Store) {
	tasks := s.Tasks()
	ctx := b.Context()
	now := time.Now()
	var lease int64
	prepare := func(b *testing.B) []store.Finished { // b: the sub-benchmark, whose timer to stop
		return startedItems(b, tasks, now, &lease)
	}
	b.Run("Loop", func(b *testing.B) {
		for range b.N {
			for _, it := range prepare(b) {
				if err := tasks.Finish(ctx, it.ID, it.Lease, it.Outcome, it.At); err != nil {
					b.Fatalf("finish: %v", err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
	b.Run("Batch", func(b *testing.B) {
		for range b.N {
			errs, err := tasks.FinishBatch(ctx, prepare(b))
			if err != nil {
				b.Fatalf("finish batch: %v", err)
			}
			for _, err := range errs {
				if err != nil {
					b.Fatalf("finish batch item: %v", err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
}

// startedItems makes benchBatch running tasks in tasks, outside b's timer,
// and returns the outcomes that complete them; lease counts the leases
// used so far.
func startedItems(b *testing.B, tasks store.Tasks, now time.Time, lease *int64) []store.Finished {
	b.StopTimer()
	defer b.StartTimer()
	ctx := b.Context()
	items := make([]store.Finished, benchBatch)
	for i := range items {
		*lease++
		t := benchTask(now)
		if err := tasks.Create(ctx, t); err != nil {
			b.Fatalf("create: %v", err)
		}
		if _, err := tasks.Start(ctx, t.ID, *lease, now); err != nil {
			b.Fatalf("start: %v", err)
		}
		items[i] = store.Finished{ID: t.ID, Lease: *lease, At: now, Task: &t,
			Outcome: store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"ok":true}`)}}
	}
	return items
}

// BenchFinishThenRead finishes benchBatch running tasks with FinishBatch
// and then reads each with its attempts, as clients waiting on their tasks
// do: "Read" with GetWithAttempts, "Kept" with GetEnded (skipped for a
// store without it), which may answer from what the finish returned, and
// "Built" the same with each item carrying its task (store.Finished.Task,
// as the runtime passes it), from which the store may build what it keeps
// instead. Each runs on its own store from open (migrated), since asking
// for ended tasks changes what the finish does. The figures to compare are ns/task, the
// finish and the read together, and the CPU they took per task in this
// process and, where postgres is set, in the PostgreSQL servers on this
// machine (package procstat), which tell more than time on a shared one.
func BenchFinishThenRead(b *testing.B, open func(b *testing.B) store.Store, postgres bool) {
	type getter = func(ctx context.Context, id string) (store.Task, []store.Attempt, error)
	for _, name := range []string{"Read", "Kept", "Built"} {
		b.Run(name, func(b *testing.B) {
			tasks := open(b).Tasks()
			ctx := b.Context()
			read := getter(tasks.GetWithAttempts)
			if name != "Read" {
				ended, ok := tasks.(interface {
					GetEnded(context.Context, string) (store.Task, []store.Attempt, error)
				})
				if !ok {
					b.Skip("the store has no GetEnded")
				}
				read = ended.GetEnded
				_, _, _ = read(ctx, newID()) // asked once: the finish keeps what it ends from now on
			}
			now := time.Now()
			var (
				lease       int64
				self, dbCPU time.Duration
			)
			for range b.N {
				items := startedItems(b, tasks, now, &lease)
				if name != "Built" {
					for i := range items {
						items[i].Task = nil
					}
				}
				b.StopTimer() // reading the CPU figures takes a moment
				before := procstat.Read(postgres)
				b.StartTimer()
				errs, err := tasks.FinishBatch(ctx, items)
				allDone(b, "finish batch", errs, err)
				for _, it := range items {
					if t, _, err := read(ctx, it.ID); err != nil || t.Status != actors.StatusCompleted {
						b.Fatalf("read %s: %v, status %q", it.ID, err, t.Status)
					}
				}
				b.StopTimer()
				after := procstat.Read(postgres)
				b.StartTimer()
				self, dbCPU = self+after.Self-before.Self, dbCPU+after.DB-before.DB
			}
			n := float64(b.N * benchBatch)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/task")
			b.ReportMetric(float64(self.Microseconds())/n, "µs-process/task")
			if postgres {
				b.ReportMetric(float64(dbCPU.Microseconds())/n, "µs-postgres/task")
			}
		})
	}
}

// BenchStart compares starting benchBatch queued tasks one Start at a time
// ("Loop") with one StartBatch ("Batch"), on the store s (migrated). The
// tasks are created and queued outside the timer; the figure to compare is
// ns/task.
func BenchStart(b *testing.B, s store.Store) {
	tasks := s.Tasks()
	ctx := b.Context()
	now := time.Now()
	var lease int64
	prepare := func(b *testing.B) []store.Starting { // b: the sub-benchmark, whose timer to stop
		b.StopTimer()
		defer b.StartTimer()
		items := make([]store.Starting, benchBatch)
		ts := make([]actors.Task, benchBatch)
		ids := make([]string, benchBatch)
		for i := range items {
			lease++
			ts[i] = benchTask(now)
			ids[i] = ts[i].ID
			items[i] = store.Starting{ID: ts[i].ID, Lease: lease, At: now}
		}
		errs, err := tasks.CreateBatch(ctx, ts)
		allDone(b, "create", errs, err)
		if err := tasks.MarkQueued(ctx, ids...); err != nil {
			b.Fatalf("mark queued: %v", err)
		}
		return items
	}
	b.Run("Loop", func(b *testing.B) {
		for range b.N {
			for _, it := range prepare(b) {
				if _, err := tasks.Start(ctx, it.ID, it.Lease, it.At); err != nil {
					b.Fatalf("start: %v", err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
	b.Run("Batch", func(b *testing.B) {
		for range b.N {
			_, errs, err := tasks.StartBatch(ctx, prepare(b))
			if err != nil {
				b.Fatalf("start batch: %v", err)
			}
			for _, err := range errs {
				if err != nil {
					b.Fatalf("start batch item: %v", err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
}

// BenchCreate compares storing benchBatch new tasks one Create at a time
// ("Loop") with one CreateBatch ("Batch") and one EnqueueBatch ("Enqueue",
// the submit writer's call), on the store s (migrated). The tasks are made
// outside the timer; the figure to compare is ns/task.
func BenchCreate(b *testing.B, s store.Store) {
	tasks := s.Tasks()
	ctx := b.Context()
	now := time.Now()
	prepare := func(b *testing.B) []actors.Task { // b: the sub-benchmark, whose timer to stop
		b.StopTimer()
		defer b.StartTimer()
		ts := make([]actors.Task, benchBatch)
		for i := range ts {
			ts[i] = benchTask(now)
		}
		return ts
	}
	check := func(b *testing.B, errs []error, err error) { allDone(b, "create batch", errs, err) }
	b.Run("Loop", func(b *testing.B) {
		for range b.N {
			for _, t := range prepare(b) {
				if err := tasks.Create(ctx, t); err != nil {
					b.Fatalf("create: %v", err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
	b.Run("Batch", func(b *testing.B) {
		for range b.N {
			errs, err := tasks.CreateBatch(ctx, prepare(b))
			check(b, errs, err)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
	b.Run("Enqueue", func(b *testing.B) {
		for range b.N {
			_, errs, err := tasks.EnqueueBatch(ctx, prepare(b))
			check(b, errs, err)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
}

// BenchRowless compares the two ways a batch of tasks published straight
// to NATS, each ended by its first attempt, gets its rows on the store s
// (migrated): made running with CreateStarted and then finished with
// FinishBatch ("StartedThenFinished", a task that outlived the start
// delay), or made final at once with CreateFinished ("Finished", one that
// did not). The figure to compare is ns/task.
func BenchRowless(b *testing.B, s store.Store) {
	tasks := s.Tasks()
	ctx := b.Context()
	now := time.Now()
	var lease int64
	prepare := func(b *testing.B) []store.NewFinish { // b: the sub-benchmark, whose timer to stop
		b.StopTimer()
		defer b.StartTimer()
		items := make([]store.NewFinish, benchBatch)
		for i := range items {
			lease++
			items[i] = store.NewFinish{Task: benchTask(now), Lease: lease, At: now,
				Outcome: store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(`{"ok":true}`), StartedAt: now}}
		}
		return items
	}
	b.Run("StartedThenFinished", func(b *testing.B) {
		for range b.N {
			items := prepare(b)
			starts := make([]store.NewStart, len(items))
			finishes := make([]store.Finished, len(items))
			for i, it := range items {
				starts[i] = store.NewStart{Task: it.Task, Lease: it.Lease, At: it.Outcome.StartedAt}
				o := it.Outcome
				o.StartedAt = time.Time{}
				finishes[i] = store.Finished{ID: it.Task.ID, Lease: it.Lease, Outcome: o, At: it.At}
			}
			_, errs, err := tasks.CreateStarted(ctx, starts)
			allDone(b, "create started", errs, err)
			errs, err = tasks.FinishBatch(ctx, finishes)
			allDone(b, "finish batch", errs, err)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
	b.Run("Finished", func(b *testing.B) {
		for range b.N {
			errs, err := tasks.CreateFinished(ctx, prepare(b))
			allDone(b, "create finished", errs, err)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/task")
	})
}
