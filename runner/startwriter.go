package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// Group commit of starts. Every delivery begins with Start, one single-row
// commit, and with results and submissions batched that commit was what a
// no-op task waited on most (on PostgreSQL, 2,000 Starts took 3.4 s of a
// run's 3.7 s of statement time). The start writer is one goroutine per node
// that takes the Start calls of all workers and commits them together with
// StartBatch, with the result writer's discipline (resultwriter.go): an
// idle writer flushes one item at once, what arrives during a flush goes in
// the next one, a writer under load lingers up to batchLinger for more, and
// each caller returns only once its own item is committed, with the task
// and the verdict Start would have given it.
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
	store   startStore
	log     *slog.Logger
	commits commitReport
	// reqs is unbuffered for the reason resultWriter.reqs gives: after stop
	// no request is stranded, and callers that find the writer gone start
	// on their own.
	reqs chan startReq
	stop chan struct{}
	done chan struct{}
}

// startReq is one Start waiting for its batch; the writer answers on done
// (buffered, so a caller that gave up never blocks the writer). msg, when
// set, is the delivery's task message: a task published straight to NATS
// has no row until its first delivery makes one from the message, and the
// writer makes those rows in a batch too (createStarted). fresh says the
// message did not claim a committed row (transport.HeaderRowCommitted), so
// the row is most likely missing and is made first.
type startReq struct {
	item  store.Starting
	msg   *actors.Task
	fresh bool
	done  chan startAnswer
}

// startAnswer is what Start returns to one caller.
type startAnswer struct {
	task store.Task
	err  error
}

func newStartWriter(s startStore, log *slog.Logger, commits commitReport) *startWriter {
	w := &startWriter{store: s, log: log, commits: commits, reqs: make(chan startReq),
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
	full := func() bool { return len(batch) == maxStartBatch }
	last := 0
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
			for !full() {
				select {
				case r := <-w.reqs:
					take(r)
				default:
					break more
				}
			}
			if last > 1 {
				linger(w.reqs, w.stop, take, full) // under load: see batchLinger
			}
		}
		last = len(batch)
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
	ts, errs := make([]store.Task, len(batch)), make([]error, len(batch))
	// A message that says no row was committed for it (a task published
	// straight to NATS) is inserted started first; one whose row existed
	// after all is started with the rest.
	var fresh, rest []int
	for i, r := range batch {
		if r.fresh && r.msg != nil && w.creates() {
			fresh = append(fresh, i)
		} else {
			rest = append(rest, i)
		}
	}
	if len(fresh) > 0 {
		rest = append(rest, w.createStarted(ctx, batch, fresh, ts, errs)...)
	}
	if len(rest) > 0 {
		w.startBatch(ctx, batch, rest, ts, errs)
		// A task with no row after all (its message did not say so): made
		// started from its message in the same way.
		var missing []int
		for _, i := range rest {
			if batch[i].msg != nil && errors.Is(errs[i], store.ErrNotFound) && w.creates() {
				missing = append(missing, i)
			}
		}
		if exist := w.createStarted(ctx, batch, missing, ts, errs); len(exist) > 0 {
			w.startBatch(ctx, batch, exist, ts, errs) // made meanwhile by another delivery
		}
	}
	for i, r := range batch {
		r.done <- startAnswer{task: ts[i], err: errs[i]}
	}
}

// startBatch starts batch[idx...] with one StartBatch, setting ts and errs.
func (w *startWriter) startBatch(ctx context.Context, batch []startReq, idx []int, ts []store.Task, errs []error) {
	items := make([]store.Starting, len(idx))
	for j, i := range idx {
		items[j] = batch[i].item
	}
	start := time.Now()
	sts, serrs, err := w.store.StartBatch(ctx, items)
	w.commits.report(CommitStart, len(items), start, err)
	if err != nil {
		w.log.WarnContext(ctx, "start batch not committed", "tasks", len(idx), "error", err)
	}
	for j, i := range idx {
		if err != nil {
			errs[i] = err
			continue
		}
		ts[i], errs[i] = sts[j], serrs[j]
	}
}

// creates says whether the store can insert rows already started.
func (w *startWriter) creates() bool {
	_, ok := w.store.(rowStarter)
	return ok
}

// rowStarter is the store side of rows made from task messages (store.Tasks
// has it).
type rowStarter interface {
	CreateStarted(ctx context.Context, items []store.NewStart) ([]store.Task, []error, error)
}

// createStarted gives batch[idx...], tasks that came with their message and
// have no row, their rows already started, with one CreateStarted, setting
// ts and errs: one INSERT of a running row each, where making the row
// pending and then starting it cost an INSERT and an UPDATE that wrote every
// index of tasks again. It returns the items whose row existed
// (ErrConflict: their message was not the first to make it), for the caller
// to start as any row is.
//
// A message without max attempts gets 1 here, not in the store (which
// stores the limit it is given, as Create does), as runtime.start does for
// the row it makes: such a task runs once, and its row says so.
func (w *startWriter) createStarted(ctx context.Context, batch []startReq, idx []int, ts []store.Task, errs []error) (exist []int) {
	cs, ok := w.store.(rowStarter)
	if !ok || len(idx) == 0 {
		return nil
	}
	news := make([]store.NewStart, len(idx))
	for j, i := range idx {
		r := batch[i]
		m := *r.msg
		if m.MaxAttempts <= 0 {
			m.MaxAttempts = 1
		}
		news[j] = store.NewStart{Task: m, Lease: r.item.Lease, At: r.item.At}
	}
	start := time.Now()
	cts, cerrs, err := cs.CreateStarted(ctx, news)
	w.commits.report(CommitCreateStarted, len(news), start, err)
	if err != nil {
		w.log.WarnContext(ctx, "rows of started tasks not committed", "tasks", len(idx), "error", err)
	}
	for j, i := range idx {
		switch {
		case err != nil:
			errs[i] = err
		case cerrs[j] == nil:
			ts[i], errs[i] = cts[j], nil
		case errors.Is(cerrs[j], store.ErrConflict):
			exist = append(exist, i)
		default:
			errs[i] = cerrs[j]
		}
	}
	return exist
}

// Start queues the start for the next batch and returns once that batch is
// committed, with this item's own task and error. If ctx ends first it
// returns ctx's error, and the task may or may not have been started: the
// caller hands the message back, and its redelivery, under the same lease,
// starts it again or finds it final.
func (w *startWriter) Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error) {
	return w.start(ctx, startReq{item: store.Starting{ID: id, Lease: lease, At: now}, done: make(chan startAnswer, 1)})
}

// StartFrom is Start for a delivery of msg: a task with no row yet (one
// published straight to NATS) gets its row from msg in the same batch,
// tried first when fresh (the message claims no committed row).
// ErrNotFound can still come back (the writer is gone, or the store cannot
// create in batches): the caller then makes the row itself.
func (w *startWriter) StartFrom(ctx context.Context, msg actors.Task, fresh bool, lease int64, now time.Time) (store.Task, error) {
	return w.start(ctx, startReq{item: store.Starting{ID: msg.ID, Lease: lease, At: now}, msg: &msg, fresh: fresh,
		done: make(chan startAnswer, 1)})
}

func (w *startWriter) start(ctx context.Context, r startReq) (store.Task, error) {
	select {
	case w.reqs <- r:
	case <-w.done:
		return w.store.Start(ctx, r.item.ID, r.item.Lease, r.item.At)
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
