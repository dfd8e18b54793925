package runner

import (
	"context"
	"log/slog"
	"time"

	"github.com/ymera/ymera/store"
)

// Group commit of starts. Every delivery begins with Start, one single-row
// commit, and with results and submissions batched that commit was what a
// no-op task waited on most (on PostgreSQL, 2,000 Starts took 3.4 s of a
// run's 3.7 s of statement time). The start writer is one goroutine per node
// that takes the Start calls of all workers and commits them together with
// StartBatch, with the result writer's discipline (resultwriter.go): no
// timer, an idle writer flushes one item at once, what arrives during a
// flush goes in the next one, and each caller returns only once its own item
// is committed, with the task and the verdict Start would have given it.
//
// One batch never holds the same task twice. Two deliveries of one message
// (a redelivery racing the first) must start in turn, the second seeing what
// the first did, so the second is held back for the next batch. The store
// would order them too, but a repeated id costs PostgreSQL a second round in
// a transaction, and holding it here keeps every batch one statement.

// BatchStarter is the store side of group commit of starts (store.Tasks has
// it). A node whose task store lacks it starts each task on its own.
type BatchStarter interface {
	StartBatch(ctx context.Context, items []store.Starting) ([]store.Task, []error, error)
}

// maxStartBatch caps a batch, for the reason maxResultBatch gives.
const maxStartBatch = 256

// startWriter commits Start calls in batches.
type startWriter struct {
	store startStore
	log   *slog.Logger
	// reqs is unbuffered for the reason resultWriter.reqs gives: after stop
	// no request is stranded, and callers that find the writer gone start
	// on their own.
	reqs chan startReq
	stop chan struct{}
	done chan struct{}
}

// startReq is one Start waiting for its batch; the writer answers on done
// (buffered, so a caller that gave up never blocks the writer).
type startReq struct {
	item store.Starting
	done chan startAnswer
}

// startAnswer is what Start returns to one caller.
type startAnswer struct {
	task store.Task
	err  error
}

func newStartWriter(s startStore, log *slog.Logger) *startWriter {
	w := &startWriter{store: s, log: log, reqs: make(chan startReq),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Stop ends the writer after the batch in flight and the requests it held
// back; later Start calls start on their own.
func (w *startWriter) Stop() {
	close(w.stop)
	<-w.done
}

// run is the group-commit loop: wait for one request, take every request
// already waiting (up to the cap) without waiting for more, commit, answer.
// A request whose task is already in the batch is held for the next one,
// ahead of what arrives later; held requests are committed even after stop,
// since their callers are waiting on the writer.
func (w *startWriter) run() {
	defer close(w.done)
	var next, held []startReq
	batch := make([]startReq, 0, maxStartBatch)
	in := make(map[string]bool, maxStartBatch)
	take := func(r startReq) {
		if in[r.item.ID] || len(batch) == maxStartBatch {
			held = append(held, r)
			return
		}
		in[r.item.ID] = true
		batch = append(batch, r)
	}
	for {
		if len(next) == 0 {
			select {
			case <-w.stop:
				return
			case r := <-w.reqs:
				next = append(next, r)
			}
		}
		batch, held = batch[:0], held[:0]
		clear(in)
		for _, r := range next {
			take(r)
		}
		if !w.stopping() {
		more:
			for len(batch) < maxStartBatch {
				select {
				case r := <-w.reqs:
					take(r)
				default:
					break more
				}
			}
		}
		w.flush(batch)
		next, held = held, next // held becomes the next batch's head; next's array is reused
	}
}

func (w *startWriter) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// flush commits one batch and answers every caller in it. Like the result
// writer's, a batch is not tied to any one caller's context and has the
// settle bound of its own.
func (w *startWriter) flush(batch []startReq) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	items := make([]store.Starting, len(batch))
	for i, r := range batch {
		items[i] = r.item
	}
	ts, errs, err := w.store.StartBatch(ctx, items)
	if err != nil {
		w.log.WarnContext(ctx, "start batch not committed", "tasks", len(batch), "error", err)
	}
	for i, r := range batch {
		if err != nil {
			r.done <- startAnswer{err: err}
		} else {
			r.done <- startAnswer{task: ts[i], err: errs[i]}
		}
	}
}

// Start queues the start for the next batch and returns once that batch is
// committed, with this item's own task and error. If ctx ends first it
// returns ctx's error, and the task may or may not have been started: the
// caller hands the message back, and its redelivery, under the same lease,
// starts it again or finds it final.
func (w *startWriter) Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error) {
	r := startReq{item: store.Starting{ID: id, Lease: lease, At: now}, done: make(chan startAnswer, 1)}
	select {
	case w.reqs <- r:
	case <-w.done:
		return w.store.Start(ctx, id, lease, now)
	case <-ctx.Done():
		return store.Task{}, ctx.Err()
	}
	select {
	case a := <-r.done:
		return a.task, a.err
	case <-ctx.Done():
		return store.Task{}, ctx.Err()
	}
}

// startStore has both forms of Start: the batch, and the single row for the
// calls that find the writer stopped.
type startStore interface {
	BatchStarter
	Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error)
}

// startAlone starts a task with the task store's own Start, one row per
// commit, bypassing the start writer when tasks has one.
func startAlone(ctx context.Context, tasks TaskStore, id string, lease int64, now time.Time) (store.Task, error) {
	if g, ok := tasks.(groupTasks); ok {
		tasks = g.TaskStore
	}
	return tasks.Start(ctx, id, lease, now)
}
