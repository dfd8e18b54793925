package transport

import (
	"testing"

	"github.com/ymera/ymera/actors"
)

// BenchmarkPublishTask measures one task published and acknowledged at a
// time on the embedded server (file store).
func BenchmarkPublishTask(b *testing.B) {
	c := setup(b)
	ctx := b.Context() // no deadline: -benchtime may run long
	task := benchTask()
	b.ReportAllocs()
	for b.Loop() {
		task.ID = newID()
		if _, err := c.PublishTask(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishTasks256 measures batches of 256 published back to back,
// as group commit does; ns/op is per batch.
func BenchmarkPublishTasks256(b *testing.B) {
	c := setup(b)
	ctx := b.Context() // no deadline: -benchtime may run long
	batch := make([]actors.Task, 256)
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			batch[i] = benchTask()
			batch[i].ID = newID()
		}
		for _, err := range c.PublishTasks(ctx, batch) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
