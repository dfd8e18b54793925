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
// inserts them all with one EnqueueBatch, publishes the committed ones back
// to back waiting for every PubAck (PublishBatch), answers the callers, and
// clears the batch's outbox entry. Each caller is answered only once its own
// row is committed and its own message acknowledged, with its own verdict,
// so Submit's promise (nil means the task will run, an error that it will
// not) is the same as on the one-task path.
//
// The rows go in as queued, and no statement touches them after the
// publish: what stands for "the message may not be stored yet" is the
// outbox entry EnqueueBatch commits with them, one small row per batch. It
// outlives the flush only if the process dies before the PubAcks (or its
// delete fails, or a task could be neither published nor taken back); the
// Sweeper then republishes the entry's tasks still queued. Marking every
// row queued after the publish, as before, was one of the four writes of
// each task's row.
//
// The discipline is the result writer's (resultwriter.go) without its
// linger, which the POST would wait on and which measured no gain here: an
// idle writer flushes a single task at once, and the calls that arrive while
// a flush is in flight go together in the next one, up to maxSubmitBatch. The
// loop runs only while there is work (a goroutine started by the Submit that
// finds it idle, ending when nothing is left), so the Submitter keeps its
// zero-value, no-Stop API.

// BatchEnqueuer is the store side of submit group commit (store.Tasks has
// it). A Submitter whose task store lacks it commits each task on its own.
type BatchEnqueuer interface {
	EnqueueBatch(ctx context.Context, ts []actors.Task) (outbox int64, errs []error, err error)
	ClearOutbox(ctx context.Context, id int64) error
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
func (s *Submitter) batched() (BatchEnqueuer, BatchQueue, bool) {
	bc, ok1 := s.Tasks.(BatchEnqueuer)
	bq, ok2 := s.Queue.(BatchQueue)
	return bc, bq, ok1 && ok2
}

// submitBatched queues t for the next flush, starting the writer loop if it
// is idle, and waits for t's own verdict. If ctx ends first it returns ctx's
// error, and the task may or may not have been accepted.
func (s *Submitter) submitBatched(ctx context.Context, t actors.Task, bc BatchEnqueuer, bq BatchQueue) error {
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
func (s *Submitter) writeLoop(bc BatchEnqueuer, bq BatchQueue) {
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

// flush commits and publishes one batch, answers every caller, and clears
// the batch's outbox entry.
func (s *Submitter) flush(batch []*submitReq, bc BatchEnqueuer, bq BatchQueue) {
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
	start := time.Now()
	outbox, errs, err := bc.EnqueueBatch(ctx, tasks)
	commitsTo(s.Commits).report(CommitEnqueue, len(tasks), start, err)
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
			// The outbox entry stays, as after a crash here.
			for _, r := range committed {
				r.done <- err
			}
			return
		}
	}
	ctxs, tasks := make([]context.Context, len(committed)), tasks[:len(committed)]
	for i, r := range committed {
		ctxs[i], tasks[i] = firstPublish(r.ctx), r.task
	}
	pubCtx, cancelPub := context.WithTimeout(ctx, cmp.Or(s.PublishTimeout, 5*time.Second))
	perrs := bq.PublishBatch(pubCtx, ctxs, tasks)
	cancelPub()
	for i, r := range committed {
		if perrs[i] == nil {
			r.done <- nil
		}
	}
	keep := false // whether the Sweeper must still see the entry
	for i, r := range committed {
		if perrs[i] == nil {
			continue
		}
		err := s.takeBack(r.ctx, r.task, perrs[i])
		// nil: the task could not be taken back, and may be queued with no
		// message; only the entry leads the Sweeper to it.
		keep = keep || err == nil
		r.done <- err
	}
	if outbox == 0 || keep {
		return
	}
	if err := bc.ClearOutbox(ctx, outbox); err != nil {
		s.Logger.WarnContext(ctx, "submit batch published but its outbox entry not cleared; the sweeper will",
			"outbox", outbox, "tasks", len(committed), "error", err)
	}
}
