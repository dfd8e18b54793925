package runner

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// Group commit of results. Every worker of a node records its outcome with
// Finish, one single-row commit each, and on PostgreSQL that commit (WAL
// flush, round trip) is most of what a no-op task costs. The result writer
// is one goroutine per node that takes the Finish calls of all workers and
// commits them together with FinishBatch; each caller still returns only
// once its own item is committed, so a worker acknowledges its message only
// after commit, as before, and learns its own per-item verdict (ErrConflict
// for a task that changed hands) exactly as Finish would have told it.
//
// When the writer is idle, a Finish is flushed at once (a batch of one, the
// same latency as before); while a flush is in flight, the calls that
// arrive are queued, without blocking their callers, and go together in the
// next one. The batch size thus
// follows the load with no added delay at low load. Under load (the last
// batch held more than one item) the writer also waits up to batchLinger
// for more before it commits a batch that is not full: the machine is then
// busy, and fewer, bigger batches cost it less per task.

// BatchFinisher is the store side of group commit (store.Tasks has it). A
// node whose task store lacks it commits each outcome on its own.
type BatchFinisher interface {
	FinishBatch(ctx context.Context, items []store.Finished) ([]error, error)
}

// FinishCreator stores tasks that have no row yet together with the outcome
// of their first attempt (store.Tasks has it): how a deferred attempt of a
// task published straight to NATS is recorded (deferred.go). A node whose
// task store lacks it records such a task's start before it runs.
type FinishCreator interface {
	CreateFinished(ctx context.Context, items []store.NewFinish) ([]error, error)
}

// maxResultBatch caps a batch: past a few hundred rows a bigger batch saves
// little and holds the first callers longer.
const maxResultBatch = 256

// resultWriter commits Finish calls in batches.
type resultWriter struct {
	store   resultStore
	creator FinishCreator // the store, when it can; nil otherwise
	log     *slog.Logger
	commits commitReport
	// pending are the requests not yet taken into a batch. Stop sets
	// stopped under mu and then run commits all of them, so none is
	// stranded; callers that find the writer stopped commit on their own.
	mu      sync.Mutex
	pending []finishReq
	stopped bool
	wake    chan struct{} // capacity 1: pending has requests
	stop    chan struct{}
	done    chan struct{}
}

// finishReq is one Finish waiting for its batch, or, with task set, one
// CreateFinished of that task; the writer answers on done (buffered, so a
// caller that gave up never blocks the writer).
type finishReq struct {
	item store.Finished
	task *actors.Task
	done chan error
	// then, set instead of done (commitThen), is called with the verdict
	// once the batch is committed.
	then func(error)
}

func newResultWriter(s resultStore, log *slog.Logger, commits commitReport) *resultWriter {
	w := &resultWriter{store: s, log: log, commits: commits, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	w.creator, _ = s.(FinishCreator)
	go w.run()
	return w
}

// Stop ends the writer once it has committed every request it was given,
// the batch in flight and the queued ones; later Finish calls commit on
// their own.
func (w *resultWriter) Stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
}

// enqueue queues r for the next batch and wakes the loop; false when the
// writer has stopped. It never waits for a flush: a worker that handed
// over its outcome through an unbuffered channel waited, parked, for the
// batch in flight to end (docs/performance.md, step 25).
func (w *resultWriter) enqueue(r finishReq) bool {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	w.pending = append(w.pending, r)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// takeInto moves queued requests into batch, up to maxResultBatch in all.
func (w *resultWriter) takeInto(batch []finishReq) []finishReq {
	w.mu.Lock()
	n := min(len(w.pending), maxResultBatch-len(batch))
	batch = append(batch, w.pending[:n]...)
	rest := copy(w.pending, w.pending[n:])
	clear(w.pending[rest:])
	w.pending = w.pending[:rest]
	w.mu.Unlock()
	return batch
}

// run is the group-commit loop: wait for a request, take every request
// queued (up to the cap), under load linger for more, commit, answer. Once
// stopped it commits what is queued and returns.
func (w *resultWriter) run() {
	defer close(w.done)
	batch := make([]finishReq, 0, maxResultBatch)
	last := 0
	for {
		select {
		case <-w.stop:
		case <-w.wake:
		}
		select {
		case <-w.stop:
			// Stopped under mu: nothing more comes; commit what came.
			for {
				batch = w.takeInto(batch[:0])
				if len(batch) == 0 {
					return
				}
				w.flush(batch)
			}
		default:
		}
		batch = w.takeInto(batch[:0])
		if len(batch) == 0 {
			continue
		}
		if last > 1 {
			// Each wake-up while it lingers takes what was queued since.
			linger(w.wake, w.stop, func(struct{}) { batch = w.takeInto(batch) },
				func() bool { return len(batch) >= maxResultBatch })
		}
		last = len(batch)
		w.flush(batch)
		w.mu.Lock()
		more := len(w.pending) > 0
		w.mu.Unlock()
		if more {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// batchLinger is how long a group-commit writer under load waits for more
// items before it commits a batch that is not full. Measured on PostgreSQL
// and SQLite at 64 and 256 connections (docs/performance.md, step 4): 4-10 %
// more tasks a second with 1 ms, the same or better latency, and none added
// one task at a time, where a writer never lingers.
const batchLinger = time.Millisecond

// linger takes requests from reqs (or, for the result writer, wake-ups
// that each take the queue) until full says the batch is, batchLinger
// passes, or stop closes.
func linger[T any](reqs <-chan T, stop <-chan struct{}, take func(T), full func() bool) {
	t := time.NewTimer(batchLinger)
	defer t.Stop()
	for !full() {
		select {
		case r := <-reqs:
			take(r)
		case <-t.C:
			return
		case <-stop:
			return
		}
	}
}

// flush commits one batch and answers every caller in it: the outcomes
// with FinishBatch, the rows made with their outcome with CreateFinished,
// each in one statement. A batch is not tied to any one caller's context
// (they may have given up); it has the settle bound of its own, so the
// node's shutdown still keeps finished work.
func (w *resultWriter) flush(batch []finishReq) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	// Sized up front: a batch is often hundreds of items, and a NewFinish
	// carries a whole task, so growing these by append copied each one
	// several times (a fifth of what a task published straight to NATS
	// allocated, step 19).
	n := 0
	for _, r := range batch {
		if r.task != nil {
			n++
		}
	}
	var (
		finishes = make([]finishReq, 0, len(batch)-n)
		items    = make([]store.Finished, 0, len(batch)-n)
		creates  = make([]finishReq, 0, n)
		news     = make([]store.NewFinish, 0, n)
	)
	for _, r := range batch {
		if r.task != nil {
			creates, news = append(creates, r), append(news, r.newFinish())
		} else {
			finishes = append(finishes, r)
			items = append(items, r.item)
		}
	}
	if len(items) > 0 {
		start := time.Now()
		errs, err := w.store.FinishBatch(ctx, items)
		w.commits.report(CommitFinish, len(items), start, err)
		answerAll(ctx, w.log, "result batch not committed", finishes, errs, err)
	}
	if len(news) > 0 {
		start := time.Now()
		errs, err := w.creator.CreateFinished(ctx, news)
		w.commits.report(CommitCreateFinished, len(news), start, err)
		answerAll(ctx, w.log, "rows with outcomes not committed", creates, errs, err)
	}
}

// answerAll gives each request of a statement its verdict: its own error, or
// the statement's. The requests that wait on done get it at once; those with
// a then (commitThen) are called in turn on one goroutine for the batch, so
// that what they do (acknowledgements, events) does not hold up the next
// batch.
func answerAll(ctx context.Context, log *slog.Logger, what string, reqs []finishReq, errs []error, err error) {
	if err != nil {
		log.WarnContext(ctx, what, "tasks", len(reqs), "error", err)
	}
	var thens []thenCall
	for i, r := range reqs {
		e := err
		if e == nil {
			e = errs[i]
		}
		if r.then != nil {
			thens = append(thens, thenCall{r.then, e})
			continue
		}
		r.done <- e
	}
	if len(thens) > 0 {
		go func() {
			for _, c := range thens {
				c.then(c.err)
			}
		}()
	}
}

// thenCall is a committed request's then with its verdict.
type thenCall struct {
	then func(error)
	err  error
}

// Finish queues the outcome for the next batch and returns once that batch
// is committed, with this item's own error. If ctx ends first it returns
// ctx's error, and the item may or may not have been recorded: the caller
// hands the message back, and its redelivery finds the task final or not.
func (w *resultWriter) Finish(ctx context.Context, id string, lease int64, o store.Outcome, now time.Time) error {
	return w.commit(ctx, finishReq{item: store.Finished{ID: id, Lease: lease, Outcome: o, At: now}})
}

// CreateFinished queues the row of nf.Task, made with its outcome, for the
// next batch, as Finish queues an outcome: the writer's store must be a
// FinishCreator. It returns what the store's CreateFinished says of it.
func (w *resultWriter) CreateFinished(ctx context.Context, nf store.NewFinish) error {
	return w.commit(ctx, finishReq{item: store.Finished{ID: nf.Task.ID, Lease: nf.Lease, Outcome: nf.Outcome, At: nf.At},
		task: &nf.Task})
}

// newFinish is the CreateFinished item of a request with a task.
func (r finishReq) newFinish() store.NewFinish {
	return store.NewFinish{Task: *r.task, Lease: r.item.Lease, Outcome: r.item.Outcome, At: r.item.At}
}

// createOne is CreateFinished for one item, with its own verdict.
func createOne(ctx context.Context, fc FinishCreator, nf store.NewFinish) error {
	errs, err := fc.CreateFinished(ctx, []store.NewFinish{nf})
	if err != nil {
		return err
	}
	return errs[0]
}

// finishCreating returns how a runtime over tasks records a deferred
// attempt of a task with no row (deferred.go): through the result writer
// when there is one, else with the store's own CreateFinished; nil when
// the store has none.
func finishCreating(tasks TaskStore) func(ctx context.Context, nf store.NewFinish) error {
	if g, ok := tasks.(groupTasks); ok {
		if g.w != nil {
			if g.w.creator == nil {
				return nil
			}
			return g.w.CreateFinished
		}
		tasks = g.TaskStore
	}
	fc, ok := tasks.(FinishCreator)
	if !ok {
		return nil
	}
	return func(ctx context.Context, nf store.NewFinish) error { return createOne(ctx, fc, nf) }
}

// commit hands r to the writer and waits for its verdict; if the writer
// has stopped, it commits r on its own.
func (w *resultWriter) commit(ctx context.Context, r finishReq) error {
	r.done = make(chan error, 1)
	if !w.enqueue(r) {
		if r.task != nil {
			return createOne(ctx, w.creator, r.newFinish())
		}
		return w.store.Finish(ctx, r.item.ID, r.item.Lease, r.item.Outcome, r.item.At)
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitThen queues r, whose then is set, for the writer and returns at
// once; the writer calls r.then with r's verdict after the batch's commit.
// It returns false, and r.then is never called, when the writer has
// stopped.
func (w *resultWriter) commitThen(r finishReq) bool {
	return w.enqueue(r)
}

// resultStore has both forms of Finish: the batch, and the single row for
// the calls that find the writer stopped.
type resultStore interface {
	BatchFinisher
	Finish(ctx context.Context, id string, lease int64, o store.Outcome, now time.Time) error
}

// groupTasks is a TaskStore whose Finish goes through the node's result
// writer and whose Start goes through its start writer (startwriter.go),
// each when there is one; every other method is the store's own.
type groupTasks struct {
	TaskStore
	w      *resultWriter // nil: Finish is the store's own
	starts *startWriter  // nil: Start is the store's own
}

func (g groupTasks) Finish(ctx context.Context, id string, lease int64, o store.Outcome, now time.Time) error {
	if g.w == nil {
		return g.TaskStore.Finish(ctx, id, lease, o, now)
	}
	return g.w.Finish(ctx, id, lease, o, now)
}

func (g groupTasks) Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error) {
	if g.starts == nil {
		return g.TaskStore.Start(ctx, id, lease, now)
	}
	return g.starts.Start(ctx, id, lease, now)
}

// groupCommit returns tasks with Finish batched by a result writer and
// Start by a start writer, each stopping with the node (after its pools),
// for what the store can commit in batches; tasks itself when it can do
// neither. The writers report their statements to commits.
func (n *Node) groupCommit(tasks TaskStore, log *slog.Logger, commits commitReport) TaskStore {
	g := groupTasks{TaskStore: tasks}
	if rs, ok := tasks.(resultStore); ok {
		g.w = newResultWriter(rs, log, commits)
		n.stops = append(n.stops, g.w.Stop)
	}
	if ss, ok := tasks.(startStore); ok {
		g.starts = newStartWriter(ss, log, commits)
		n.stops = append(n.stops, g.starts.Stop)
	}
	if g.w == nil && g.starts == nil {
		return tasks
	}
	return g
}
