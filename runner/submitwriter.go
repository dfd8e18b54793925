package runner

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ymera/ymera/actors"
)

// Group commit of submissions. Each Submit used to commit its own row
// (Create), publish its own message and commit its own MarkQueued: on
// PostgreSQL two single-row commits per task, most of what accepting a task
// costs. The submit writer collects concurrent Submit calls and, per flush,
// inserts them all with one CreateBatch, publishes the committed ones back to
// back waiting for every PubAck (PublishBatch), and marks the published ones
// queued with one MarkQueued. Each caller is answered only once its own row
// is committed and its own message acknowledged, with its own verdict, so
// Submit's promise (nil means the task will run, an error that it will not)
// is the same as on the one-task path.
//
// The discipline is the result writer's (resultwriter.go): no timer; an idle
// writer flushes a single task at once, and the calls that arrive while a
// flush is in flight go together in the next one, up to maxSubmitBatch. The
// loop runs only while there is work (a goroutine started by the Submit that
// finds it idle, ending when nothing is left), so the Submitter keeps its
// zero-value, no-Stop API.

// BatchCreator is the store side of submit group commit (store.Tasks has
// it). A Submitter whose task store lacks it commits each task on its own.
type BatchCreator interface {
	CreateBatch(ctx context.Context, ts []actors.Task) ([]error, error)
}

// BatchQueue is a Queue that can store many messages in one round trip. Each
// message is built from its own caller's context (ctxs[i]: trace context,
// routing marks); ctx bounds the wait. It returns one error per task.
type BatchQueue interface {
	PublishBatch(ctx context.Context, ctxs []context.Context, ts []actors.Task) []error
}

// maxSubmitBatch caps a batch, as maxResultBatch does for results.
const maxSubmitBatch = 256

// submitFlushTimeout bounds a flush's store calls. A flush serves many
// callers, so it is tied to none of their contexts.
const submitFlushTimeout = 10 * time.Second

// submitGroup is the writer's state inside a Submitter; its zero value is
// an idle writer.
type submitGroup struct {
	mu       sync.Mutex
	pending  []*submitReq
	flushing bool
}

// submitReq is one Submit waiting for its batch; done is buffered, so a
// caller that gave up never blocks the writer.
type submitReq struct {
	ctx  context.Context
	task actors.Task
	done chan error
}

// batched returns the batch forms of the store and queue, if both have one.
func (s *Submitter) batched() (BatchCreator, BatchQueue, bool) {
	bc, ok1 := s.Tasks.(BatchCreator)
	bq, ok2 := s.Queue.(BatchQueue)
	return bc, bq, ok1 && ok2
}

// submitBatched queues t for the next flush, starting the writer loop if it
// is idle, and waits for t's own verdict. If ctx ends first it returns ctx's
// error, and the task may or may not have been accepted.
func (s *Submitter) submitBatched(ctx context.Context, t actors.Task, bc BatchCreator, bq BatchQueue) error {
	r := &submitReq{ctx: ctx, task: t, done: make(chan error, 1)}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, r)
	start := !g.flushing
	g.flushing = true
	g.mu.Unlock()
	if start {
		go s.writeLoop(bc, bq)
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("runner: submit task %s: %w", t.ID, ctx.Err())
	}
}

// writeLoop flushes batches until none is waiting, then lets the writer go
// idle (under the lock, so a Submit either joins a batch or starts a loop).
func (s *Submitter) writeLoop(bc BatchCreator, bq BatchQueue) {
	g := &s.group
	for {
		g.mu.Lock()
		n := min(len(g.pending), maxSubmitBatch)
		if n == 0 {
			g.flushing = false
			g.pending = nil
			g.mu.Unlock()
			return
		}
		batch := make([]*submitReq, n)
		copy(batch, g.pending)
		g.pending = append(g.pending[:0:0], g.pending[n:]...)
		g.mu.Unlock()
		s.flush(batch, bc, bq)
	}
}

// flush commits, publishes and marks one batch, and answers every caller.
func (s *Submitter) flush(batch []*submitReq, bc BatchCreator, bq BatchQueue) {
	// A caller that already gave up is left out: answering its error
	// without storing anything keeps the error honest.
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- fmt.Errorf("runner: submit task %s: %w", r.task.ID, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), submitFlushTimeout)
	defer cancel()
	tasks := make([]actors.Task, len(live))
	for i, r := range live {
		tasks[i] = r.task
	}
	errs, err := bc.CreateBatch(ctx, tasks)
	if err != nil {
		for _, r := range live {
			r.done <- fmt.Errorf("runner: submit task %s: %w", r.task.ID, err)
		}
		return
	}
	committed := live[:0]
	for i, r := range live {
		if errs[i] != nil {
			r.done <- fmt.Errorf("runner: submit task %s: %w", r.task.ID, errs[i])
			continue
		}
		// task.queued before the message, as on the one-task path.
		publishEvent(r.ctx, s.Events, s.Logger, taskEvent("task.queued", r.task, actors.StatusQueued, nil))
		committed = append(committed, r)
	}
	if len(committed) == 0 {
		return
	}
	if s.beforePublish != nil {
		if err := s.beforePublish(); err != nil {
			for _, r := range committed {
				r.done <- err
			}
			return
		}
	}
	ctxs, tasks := make([]context.Context, len(committed)), tasks[:len(committed)]
	for i, r := range committed {
		ctxs[i], tasks[i] = r.ctx, r.task
	}
	pubCtx, cancelPub := context.WithTimeout(ctx, cmp.Or(s.PublishTimeout, 5*time.Second))
	perrs := bq.PublishBatch(pubCtx, ctxs, tasks)
	cancelPub()
	published := make([]string, 0, len(committed))
	var ok []*submitReq
	for i, r := range committed {
		if perrs[i] != nil {
			r.done <- s.takeBack(r.ctx, r.task, perrs[i])
			continue
		}
		published = append(published, r.task.ID)
		ok = append(ok, r)
	}
	if len(published) > 0 {
		if err := s.Tasks.MarkQueued(ctx, published...); err != nil {
			s.Logger.WarnContext(ctx, "tasks published but not marked queued; the sweeper will confirm them",
				"tasks", len(published), "error", err)
		}
	}
	for _, r := range ok {
		r.done <- nil
	}
}
