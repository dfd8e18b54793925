package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// ErrCancelled is the cause of a running task's context when someone asked
// for the task to be cancelled. The worker tells it apart from the task
// timeout (context.DeadlineExceeded) and from the node stopping (the
// worker's own context ends), and records the attempt as cancelled.
var ErrCancelled = errors.New("runner: task cancelled on request")

// earlyCancelTTL is how long a cancel request for a task this node is not
// (yet) running is remembered: the request can overtake the delivery by the
// moment between the store's Start and the worker's tracking of the task.
const earlyCancelTTL = time.Minute

// maxEarlyCancels bounds that memory; every node hears every request.
const maxEarlyCancels = 10000

// cancels tracks the tasks this node's workers are running, to cancel one
// when a request comes in on the control subject.
type cancels struct {
	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
	early   map[string]time.Time
	now     func() time.Time
}

func newCancels() *cancels {
	return &cancels{
		running: make(map[string]context.CancelCauseFunc),
		early:   make(map[string]time.Time),
		now:     time.Now,
	}
}

// track has cancel end the attempt at taskID, with ErrCancelled, when a
// request for the task arrives (or has just arrived), and returns the
// function that stops tracking. The attempt's context is its caller's, so
// an attempt has one cancellable context for everything that may end it.
func (c *cancels) track(taskID string, cancel context.CancelCauseFunc) (untrack func()) {
	c.mu.Lock()
	c.running[taskID] = cancel
	at, early := c.early[taskID]
	delete(c.early, taskID)
	c.mu.Unlock()
	if early && c.now().Sub(at) < earlyCancelTTL {
		cancel(ErrCancelled)
	}
	return func() {
		c.mu.Lock()
		delete(c.running, taskID)
		c.mu.Unlock()
	}
}

// cancel acts on a request: the running task's context is cancelled, or
// the request is remembered for a short while in case the task is about to
// start here.
func (c *cancels) cancel(taskID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.running[taskID]; ok {
		f(ErrCancelled)
		return
	}
	now := c.now()
	if len(c.early) >= maxEarlyCancels {
		for id, at := range c.early {
			if now.Sub(at) >= earlyCancelTTL {
				delete(c.early, id)
			}
		}
		if len(c.early) >= maxEarlyCancels {
			return // a flood of requests for tasks not here: drop this one
		}
	}
	c.early[taskID] = now
}

// cancelled reports whether taskCtx was cancelled on request.
func cancelled(taskCtx context.Context) bool {
	return errors.Is(context.Cause(taskCtx), ErrCancelled)
}

// CancelStore is the part of store.Tasks a Canceller needs.
type CancelStore interface {
	Cancel(ctx context.Context, id string, now time.Time) (store.Task, error)
}

// CancelPublisher tells the nodes of a cancel; transport.Conn satisfies it.
type CancelPublisher interface {
	// PublishCancel asks the node running the task to cancel it.
	PublishCancel(ctx context.Context, taskID string) error
	// MarkCancelled lists a task cancelled before it started, so that no
	// node runs it before recording its start (deferred.go,
	// transport.CancelView).
	MarkCancelled(ctx context.Context, taskID string) error
}

// Canceller cancels tasks for the API. A task that has not started is
// cancelled in the store, durably, and its message is acknowledged without
// effect by whichever worker takes it next. A running task is announced on
// the control subject; the node running it cancels its context and records
// it cancelled when the agent gives up.
type Canceller struct {
	Tasks  CancelStore
	Nodes  CancelPublisher
	Events EventPublisher
	Logger *slog.Logger
	Now    func() time.Time
}

// Cancel cancels task id. It returns the task as stored: cancelled when it
// had not started, running when the request went to the node running it.
// ErrConflict (with the task) when it is final already; ErrNotFound when
// there is none; an error wrapping store.ErrUnavailable when the request
// could not be sent.
func (c *Canceller) Cancel(ctx context.Context, id string) (store.Task, error) {
	now, log := time.Now, c.Logger
	if c.Now != nil {
		now = c.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t, err := c.Tasks.Cancel(ctx, id, now())
	if err != nil {
		return t, err
	}
	if t.Status == actors.StatusCancelled {
		// Nodes run a first attempt before recording its start
		// (deferred.go): list the task so that none does, and ask one
		// that took it this very moment to stop. The store has the task
		// cancelled either way; without the list, a node may still run
		// it, and the store drops the outcome.
		if err := c.Nodes.MarkCancelled(ctx, id); err != nil {
			log.WarnContext(ctx, "cancelled task not listed for the nodes; one may still run it", "task_id", id, "error", err)
		}
		if err := c.Nodes.PublishCancel(ctx, id); err != nil {
			log.WarnContext(ctx, "cancel request for a queued task not sent", "task_id", id, "error", err)
		}
		publishEvent(ctx, c.Events, log, taskEvent("task.cancelled", t.Task, actors.StatusCancelled, nil))
		return t, nil
	}
	if err := c.Nodes.PublishCancel(ctx, id); err != nil {
		return t, fmt.Errorf("runner: cancel task %s: %w: %w", id, store.ErrUnavailable, err)
	}
	return t, nil
}
