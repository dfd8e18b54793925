package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// Committing an attempt's outcome is one piece of code for both ways of
// running a task: a worker of this process (worker.go's settle) and an
// agent outside the platform reporting over NATS (report.go). Both then
// answer the JetStream delivery as the verdict says, the worker itself and
// the external agent when the results service tells it to, and only after
// that is the lifecycle event published.

// answer is what the holder of a delivery does with it once the store has
// (or has not) recorded the attempt.
type answer int

const (
	// answerNone leaves the delivery alone: the task changed hands
	// (cancelled, or taken over by another delivery), whose holder settles
	// the message; or the ack deadline will.
	answerNone answer = iota
	// answerAck acknowledges: the outcome is committed.
	answerAck
	// answerNak hands the task back after delay: a retry, or a store that
	// did not answer.
	answerNak
)

// verdict is the result of commit.
type verdict struct {
	answer answer
	delay  time.Duration // with answerNak
	// status is the task's status after the commit (final, or queued for a
	// retry); event the lifecycle event to announce, "" for none.
	status actors.Status
	event  string
	// err is why nothing was recorded: wraps store.ErrConflict for a task
	// that changed hands, anything else for a store that did not answer.
	err error
}

// commit records the outcome of attempt a: the final status, or, after a
// transient failure with attempts left, the task queued again for a retry
// after an exponential backoff. It neither answers the delivery nor
// publishes the event; see settle and announce.
func (rt *runtime) commit(ctx context.Context, log *slog.Logger, a attempt,
	res actors.Result, perr error, timedOut bool) verdict {
	st := a.Task
	var o store.Outcome
	switch {
	case timedOut:
		o = store.Outcome{Status: actors.StatusTimeout,
			ErrorMessage: fmt.Sprintf("task timed out after %s", rt.taskTimeout)}
	case perr == nil:
		// A deferred start is recorded with the outcome (deferred.go).
		o = store.Outcome{Status: actors.StatusCompleted, Result: res.Output, StartedAt: a.began}
	case errors.Is(perr, ErrCancelled):
		o = store.Outcome{Status: actors.StatusCancelled, ErrorMessage: "cancelled on request while running"}
	case !actors.IsPermanent(perr) && st.Attempts < st.MaxAttempts:
		return rt.requeue(ctx, log, st, perr)
	default:
		o = store.Outcome{Status: actors.StatusFailed, ErrorMessage: perr.Error()}
	}

	var err error
	if a.fresh && a.deferred() && o.Status == actors.StatusCompleted {
		// The task has no row yet (deferred.go): it is made with the outcome.
		err = rt.createFinished(ctx, store.NewFinish{Task: rowlessTask(st.Task), Lease: st.Lease, Outcome: o, At: rt.now()})
	} else {
		err = rt.tasks.Finish(ctx, st.ID, st.Lease, o, rt.now())
	}
	return rt.finished(ctx, log, st, o, err)
}

// rowlessTask is the row made for t, a task published straight to NATS,
// with the outcome of its deferred first attempt.
func rowlessTask(t actors.Task) actors.Task {
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = 1 // as the start writer makes the row (createStarted)
	}
	return t
}

// finished is the verdict on the outcome o of st's attempt, whose commit
// returned err.
func (rt *runtime) finished(ctx context.Context, log *slog.Logger, st store.Task, o store.Outcome, err error) verdict {
	switch {
	case errors.Is(err, store.ErrConflict):
		// Cancelled meanwhile, or a later delivery took the task over: its
		// holder settles the message.
		log.InfoContext(ctx, "outcome not recorded: task changed hands", "error", err)
		return verdict{answer: answerNone, err: err}
	case err != nil:
		log.WarnContext(ctx, "could not record outcome; handing the task back", "error", err)
		return verdict{answer: answerNak, delay: rt.storeBackoff(), err: err}
	}
	rt.observer.TaskFinished(st.Type, o.Status)
	return verdict{answer: answerAck, status: o.Status, event: endEvent(o.Status)}
}

// endEvent is the event type of a task that ended with status, named
// without building the string each time.
func endEvent(status actors.Status) string {
	switch status {
	case actors.StatusCompleted:
		return "task.completed"
	case actors.StatusFailed:
		return "task.failed"
	case actors.StatusCancelled:
		return "task.cancelled"
	case actors.StatusTimeout:
		return "task.timeout"
	}
	return "task." + string(status)
}

// requeue hands a transiently failed attempt back with exponential backoff.
func (rt *runtime) requeue(ctx context.Context, log *slog.Logger, st store.Task, perr error) verdict {
	if err := rt.tasks.Requeue(ctx, st.ID, st.Lease, perr.Error(), rt.now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return verdict{answer: answerNone, err: err}
		}
		log.WarnContext(ctx, "could not requeue task", "error", err)
		return verdict{answer: answerNak, delay: rt.storeBackoff(), err: err}
	}
	delay := RetryDelay(rt.retryBase, st.Attempts)
	log.InfoContext(ctx, "attempt failed; retrying", "attempt", st.Attempts, "delay", delay, "error", perr)
	return verdict{answer: answerNak, delay: delay, status: actors.StatusQueued, event: "task.retrying"}
}

// announce publishes the verdict's lifecycle event, once the delivery has
// been answered.
func (rt *runtime) announce(ctx context.Context, log *slog.Logger, st store.Task, v verdict) {
	if v.event != "" {
		ev := taskEvent(v.event, st.Task, v.status, nil)
		// Name the built-in agent that ran the attempt, so that watchers can
		// tell which node did the work.
		if a, ok := ctx.Value(attemptKey{}).(attemptInfo); ok {
			ev.AgentID = a.agentID
		}
		publishEvent(ctx, rt.events, log, ev)
	}
}
