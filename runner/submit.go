package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// TaskStore is the part of store.Tasks the runtime writes through.
type TaskStore interface {
	Create(ctx context.Context, t actors.Task) error
	Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error)
	Finish(ctx context.Context, id string, lease int64, o store.Outcome, now time.Time) error
	Requeue(ctx context.Context, id string, lease int64, errMsg string, now time.Time) error
	MarkQueued(ctx context.Context, ids ...string) error
	Abandon(ctx context.Context, id string, reason string, now time.Time) error
	Pending(ctx context.Context, olderThan time.Time, limit int) ([]store.Task, error)
	// For the Sweeper's look at submit batches left unconfirmed.
	Outbox(ctx context.Context, olderThan time.Time, limit int) ([]store.OutboxEntry, error)
	ClearOutbox(ctx context.Context, id int64) error
	// For the node's dead-letter watcher (deadletter.go).
	Get(ctx context.Context, id string) (store.Task, error)
	// For the Sweeper's look at running tasks (sweepOrphans).
	List(ctx context.Context, f store.TaskFilter) ([]store.Task, error)
	DeadLetter(ctx context.Context, id string, reason string, now time.Time) error
}

// Queue stores task messages durably.
type Queue interface {
	// PublishTask stores t's message and returns once the server has it. A
	// message with the same message id inside the dedup window is dropped
	// by the server and reported as success (the id is the task id unless
	// ctx says otherwise: transport.WithMessageID, WithoutMessageID).
	PublishTask(ctx context.Context, t actors.Task) error
}

// ErrQueueUnavailable is returned by Submit when the task's message could not
// be stored. The task's row is then marked failed, so the error is the whole
// truth: the task will not run. It also wraps store.ErrUnavailable, so the
// gateway answers 503 with Retry-After.
var ErrQueueUnavailable = errors.New("runner: task queue unavailable")

// Submitter accepts tasks: it commits the row, then stores the message.
type Submitter struct {
	Tasks  TaskStore
	Queue  Queue
	Events EventPublisher
	Logger *slog.Logger
	// PublishTimeout bounds the wait for the queue to confirm a message
	// (default 5 s). While NATS is unreachable the client would otherwise
	// hold the request until the caller's deadline (the gateway's 30 s, then
	// an ambiguous 504); bounded, the task is taken back and the caller gets
	// a prompt, honest ErrQueueUnavailable (503 with Retry-After).
	PublishTimeout time.Duration
	// Commits, when set, is told of every batch the submit writer commits
	// (CommitEnqueue).
	Commits CommitObserver
	// beforePublish, a test failpoint, runs between the commit and the
	// publish; an error makes Submit return it at once, as if the process
	// had died there (see export_test.go).
	beforePublish func() error
	// group is the submit writer (submitwriter.go), used when Tasks is a
	// BatchEnqueuer and Queue a BatchQueue.
	group submitGroup
}

// Submit commits t and publishes its message. It returns nil only when both
// are durable (or, in the rare case where the queue failed and the row could
// not be taken back, when the Sweeper is bound to queue it), so an answer of
// 201 always means the task will run, and an error that it will not. Through
// the submit writer the row goes in as queued with an outbox entry
// (submitwriter.go); alone, it goes in as pending and is marked queued after
// the publish, a best-effort mark: a task left pending is republished by the
// Sweeper, and the conditional Start drops the second message's delivery.
func (s *Submitter) Submit(ctx context.Context, t actors.Task) error {
	if bc, bq, ok := s.batched(); ok {
		return s.submitBatched(ctx, t, bc, bq)
	}
	if err := s.Tasks.Create(ctx, t); err != nil {
		return fmt.Errorf("runner: submit task %s: %w", t.ID, err)
	}
	// task.queued goes out before the message, not after: events published
	// on one connection keep their order in YMERA_EVENTS, and the worker's
	// task.started can only follow the message, so watchers always see
	// queued before started. A queue failure is followed by task.failed.
	publishEvent(ctx, s.Events, s.Logger, taskEvent("task.queued", t, actors.StatusQueued, nil))
	if s.beforePublish != nil {
		if err := s.beforePublish(); err != nil {
			return err
		}
	}
	pubCtx, cancelPub := context.WithTimeout(firstPublish(ctx), cmp.Or(s.PublishTimeout, 5*time.Second))
	err := s.Queue.PublishTask(pubCtx, t)
	cancelPub()
	if err != nil {
		return s.takeBack(ctx, t, err)
	}
	if err := s.Tasks.MarkQueued(ctx, t.ID); err != nil {
		s.Logger.WarnContext(ctx, "task published but not marked queued; the sweeper will confirm it",
			"task_id", t.ID, "error", err)
	}
	return nil
}

// takeBack answers a task whose message the queue did not confirm (err).
// Answering with an error promises the caller the task will not run, so the
// task is abandoned first (pending, or queued and never started, as the
// submit writer stores it). If the message was stored after all (its ack
// was lost), the worker finds the task final and drops it. nil means the
// task could not be abandoned and will run: it has started, or is still
// pending or queued for the Sweeper to publish.
func (s *Submitter) takeBack(ctx context.Context, t actors.Task, err error) error {
	abandonCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if aerr := s.Tasks.Abandon(abandonCtx, t.ID, "the task queue did not confirm the task", time.Now()); aerr != nil {
		s.Logger.WarnContext(ctx, "task neither confirmed nor abandoned; the sweeper will publish it", "task_id", t.ID, "error", aerr)
		// The sweeper will run it: the submission did not fail after all.
		return nil
	}
	publishEvent(ctx, s.Events, s.Logger, taskEvent("task.failed", t, actors.StatusFailed, nil))
	return fmt.Errorf("runner: submit task %s: %w: %w: %w", t.ID, store.ErrUnavailable, ErrQueueUnavailable, err)
}

// firstPublish marks the context of a submission's publish: its row is
// committed, and its message goes without a Nats-Msg-Id. The message is
// the task's only one unless the process dies before the submission is
// confirmed; then the Sweeper publishes the task again (republish), and
// the delivery of a copy of a message that did arrive is dropped by the
// conditional Start before anything runs, as the window would have
// dropped the copy. Leaving the id out spares the server a
// duplicate-window entry per task: at thousands of tasks a second those
// entries filled the gateway's live heap minute by minute and cost it
// 10-13 % of its CPU per task over six runs of a closed loop
// (docs/performance.md, step 18).
func firstPublish(ctx context.Context) context.Context {
	return transport.WithoutMessageID(transport.WithCommittedRow(ctx))
}

// republish marks the context of a Sweeper's copy of a submission's
// message: row committed, task id as message id, and HeaderRepublished,
// so that the delivery of a copy asks the store before running anything.
func republish(ctx context.Context) context.Context {
	return transport.WithRepublished(transport.WithCommittedRow(ctx))
}

// Sweeper republishes tasks whose row was committed but whose message may
// never have been stored, because the process died in between: the queued
// tasks of submit outbox entries left behind (submitwriter.go), and tasks
// that stayed pending (a single Create, a dead-letter replay).
type Sweeper struct {
	Tasks  TaskStore
	Queue  Queue
	Logger *slog.Logger
	// Interval between sweeps (default 5 s).
	Interval time.Duration
	// Age a pending task or an outbox entry must reach before its tasks are
	// republished (default 10 s): long enough that a submission in progress
	// finishes first. A task whose message did arrive after all gets a
	// second one, and the conditional Start drops its delivery.
	Age time.Duration
	// Batch is about the most tasks republished per sweep from the outbox,
	// and again from pending tasks (default 1000).
	Batch int
	Now   func() time.Time
	// Leases, when set, lets each sweep also look for running tasks whose
	// lease's message is gone (see takeover.go): nothing would ever deliver
	// them again, so the sweep publishes a fresh message, whose delivery
	// takes the task over. nil skips that look.
	Leases LeaseProbe
	// OrphanAge is how long a running task must have gone without a
	// transition before its lease is looked at (default 1 min): the look
	// costs a stream read per task, and a live attempt's message is there.
	OrphanAge time.Duration
}

// Run sweeps until ctx ends.
func (s *Sweeper) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "sweep of unconfirmed tasks failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep republishes the queued tasks of every outbox entry older than Age
// and every pending task older than Age, once, and returns how many
// messages it published.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	age, batch := s.Age, s.Batch
	if age <= 0 {
		age = 10 * time.Second
	}
	if batch <= 0 {
		batch = 1000
	}
	orphans, oerr := s.sweepOrphans(ctx, now())
	if oerr != nil {
		s.Logger.WarnContext(ctx, "sweep of running tasks without a message failed", "error", oerr)
	}
	cutoff := now().Add(-age)
	queued, qerr := s.sweepOutbox(ctx, cutoff, batch)
	pending, perr := s.sweepPending(ctx, cutoff, batch)
	return orphans + queued + pending, errors.Join(qerr, perr)
}

// sweepOutbox republishes the tasks still queued of each outbox entry
// created before cutoff, then deletes the entry, and returns how many it
// published. An entry is deleted only once all its tasks are published, so
// a failure leaves it for the next sweep. The message id is the task id,
// so that the copies of two sweeps (two gateways) are one message; the
// first publish had none (firstPublish), so when it did reach the stream
// the copy is a second message, whose delivery the conditional Start
// drops before running anything (HeaderRepublished).
func (s *Sweeper) sweepOutbox(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	entries, err := s.Tasks.Outbox(ctx, cutoff, batch)
	if err != nil {
		return 0, fmt.Errorf("runner: sweep: %w", err)
	}
	published, cleared := 0, 0
	defer func() {
		if cleared > 0 {
			s.Logger.InfoContext(ctx, "republished the queued tasks of unconfirmed submit batches",
				"batches", cleared, "tasks", published)
		}
	}()
	for _, e := range entries {
		if published >= batch {
			break // the rest next time
		}
		for _, t := range e.Tasks {
			if err := s.Queue.PublishTask(republish(ctx), t.Task); err != nil {
				// The queue is down; the next sweep tries again.
				return published, fmt.Errorf("runner: sweep: republish queued task %s: %w", t.ID, err)
			}
			published++
		}
		if err := s.Tasks.ClearOutbox(ctx, e.ID); err != nil {
			return published, fmt.Errorf("runner: sweep: %w", err)
		}
		cleared++
	}
	return published, nil
}

// sweepPending republishes the pending tasks created before cutoff, marks
// them queued, and returns how many it published.
func (s *Sweeper) sweepPending(ctx context.Context, cutoff time.Time, batch int) (int, error) {
	pending, err := s.Tasks.Pending(ctx, cutoff, batch)
	if err != nil {
		return 0, fmt.Errorf("runner: sweep: %w", err)
	}
	published := make([]string, 0, len(pending))
	for _, t := range pending {
		if err := s.Queue.PublishTask(republish(ctx), t.Task); err != nil {
			// The queue is down; the next sweep tries again.
			err = fmt.Errorf("runner: sweep: republish task %s: %w", t.ID, err)
			if len(published) > 0 {
				err = errors.Join(err, s.Tasks.MarkQueued(ctx, published...))
			}
			return len(published), err
		}
		published = append(published, t.ID)
	}
	if len(published) == 0 {
		return 0, nil
	}
	s.Logger.InfoContext(ctx, "republished pending tasks", "count", len(published))
	return len(published), s.Tasks.MarkQueued(ctx, published...)
}

// sweepOrphans publishes a fresh message for every running task, idle for
// OrphanAge, whose lease's message is no longer in the stream, and returns
// how many it published. The message has its own id (task id, ".lost.",
// the lost lease), so that the server keeps it even inside the duplicate
// window of the task's first message, and so that two sweeps racing over
// the same orphan publish it once.
func (s *Sweeper) sweepOrphans(ctx context.Context, now time.Time) (int, error) {
	if s.Leases == nil {
		return 0, nil
	}
	age := cmp.Or(s.OrphanAge, time.Minute)
	published := 0
	before := ""
	for {
		page, err := s.Tasks.List(ctx, store.TaskFilter{Status: actors.StatusRunning, Before: before, Limit: 200})
		if err != nil {
			return published, fmt.Errorf("runner: sweep: list running tasks: %w", err)
		}
		for _, t := range page {
			if t.Lease <= 0 || now.Sub(t.UpdatedAt) < age {
				continue
			}
			held, err := s.Leases.TaskMessageHeld(ctx, uint64(t.Lease), t.ID)
			if err != nil {
				return published, fmt.Errorf("runner: sweep: task %s: %w", t.ID, err)
			}
			if held {
				continue
			}
			mctx := transport.WithCommittedRow(transport.WithMessageID(ctx, fmt.Sprintf("%s.lost.%d", t.ID, t.Lease)))
			if err := s.Queue.PublishTask(mctx, t.Task); err != nil {
				return published, fmt.Errorf("runner: sweep: republish running task %s: %w", t.ID, err)
			}
			s.Logger.WarnContext(ctx, "running task had lost its queue message; published it again",
				"task_id", t.ID, "lost_lease", t.Lease)
			published++
		}
		if len(page) < 200 {
			return published, nil
		}
		before = page[len(page)-1].ID
	}
}
