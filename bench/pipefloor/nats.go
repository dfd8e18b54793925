package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/internal/procstat"
)

// With -via nats the pipeline takes its tasks straight from JetStream, the
// way YMERA takes a task a service publishes (the "via NATS" row of issue
// 6's targets, DESIGN.md "Speed": rows written in batches on the
// consuming side). Publishers in this process publish -tasks tasks in
// batches of -pubbatch, each batch back to back and then its PubAcks
// awaited, as `ymera bench --via nats` does; the consumer hands each to
// the no-op agent, and the result writer makes each task's row at once
// finished, a batch in one COPY, acknowledging the messages after that
// commit. The run ends when the last row is committed, and prints one
// JSON object in the shape of `ymera bench --json`: completed_per_sec,
// tasks, and the CPU per task of this process, of PostgreSQL and of the
// machine. What it leaves out of YMERA's path: the check that a message
// which claims no row has none (a copy of a task that ran before must not
// run again), the actors, the task's events, and everything a failure
// needs.

// floodReport is the JSON -via nats prints.
type floodReport struct {
	CompletedPerSec float64          `json:"completed_per_sec"`
	Tasks           int              `json:"tasks"`
	Seconds         float64          `json:"seconds"`
	CPU             procstat.PerTask `json:"cpu"`
}

// flood publishes o.tasks tasks, waits until every one's row is committed
// finished, and prints the report to o.out.
func (f *floor) flood(ctx context.Context) error {
	params := json.RawMessage(`{}`)
	var left atomic.Int64
	left.Store(int64(f.o.tasks))
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	before := procstat.Read(true)
	var wg sync.WaitGroup
	for range f.o.publishers {
		wg.Go(func() {
			acks := make([]jetstream.PubAckFuture, 0, f.o.pubBatch)
			for pctx.Err() == nil {
				n := min(left.Add(-int64(f.o.pubBatch))+int64(f.o.pubBatch), int64(f.o.pubBatch))
				if n <= 0 {
					return
				}
				acks = acks[:0]
				for range n {
					a, err := f.js.PublishAsync(subject, taskBody(uuid.Must(uuid.NewV7()), "flood", "bench_noop", params))
					if err != nil {
						cancel(fmt.Errorf("publish: %w", err))
						return
					}
					acks = append(acks, a)
				}
				for _, a := range acks {
					select {
					case <-a.Ok():
					case err := <-a.Err():
						cancel(fmt.Errorf("publish: %w", err))
						return
					case <-pctx.Done():
						return
					}
				}
			}
		})
	}
	var err error
	select {
	case <-f.done:
	case err = <-f.failed:
		err = fmt.Errorf("result batch: %w", err)
	case <-pctx.Done():
		err = context.Cause(pctx)
	}
	after := procstat.Read(true)
	cancel(nil)
	wg.Wait()
	if err != nil {
		return err
	}
	if f.o.out == nil {
		return nil
	}
	n := int(f.completed.Load())
	secs := after.At.Sub(before.At).Seconds()
	return json.NewEncoder(f.o.out).Encode(floodReport{CompletedPerSec: float64(n) / secs, Tasks: n, Seconds: secs,
		CPU: after.Since(before, n)})
}
