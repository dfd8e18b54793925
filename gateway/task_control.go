package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// Canceller cancels a task; runner.Canceller satisfies it. It returns the
// task as stored: cancelled when it had not started, running when the
// request went to the node running it. store.ErrConflict (with the task)
// when the task is final; store.ErrNotFound when there is none;
// store.ErrUnavailable when the database or NATS is down.
type Canceller interface {
	Cancel(ctx context.Context, id string) (store.Task, error)
}

// attemptReader is the optional part of a TaskReader that keeps each
// attempt of a task (store.Tasks has it); without it, attempt_history is
// empty.
type attemptReader interface {
	Attempts(ctx context.Context, taskID string) ([]store.Attempt, error)
}

// attemptView is one attempt in GET /tasks/{task_id}.
type attemptView struct {
	Attempt    int        `json:"attempt"`
	Status     string     `json:"status" enum:"running,completed,failed,timeout,cancelled,dead_letter,crashed" doc:"crashed: the attempt ended without an outcome (its worker crashed or lost its lease)"`
	Error      *string    `json:"error" doc:"Why the attempt failed; null when it did not"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// detailReader is the optional part of a TaskReader that reads a task and
// its attempts in one go (store.Tasks has it).
type detailReader interface {
	GetWithAttempts(ctx context.Context, id string) (store.Task, []store.Attempt, error)
}

// endedReader is the optional part of a TaskReader that reads a task its
// caller has just been told ended; it may answer with the task as that end
// left it, when it recorded the end a moment ago, instead of reading
// (both stores have it).
type endedReader interface {
	GetEnded(ctx context.Context, id string) (store.Task, []store.Attempt, error)
}

// attemptHistory returns the attempts of task id when tasks keeps them,
// and an empty list otherwise.
func attemptHistory(ctx context.Context, tasks any, id string) ([]attemptView, error) {
	ar, ok := tasks.(attemptReader)
	if !ok {
		return []attemptView{}, nil
	}
	list, err := ar.Attempts(ctx, id)
	if err != nil {
		return nil, err
	}
	return attemptViews(list), nil
}

// attemptViews is the API's view of attempts.
func attemptViews(list []store.Attempt) []attemptView {
	out := make([]attemptView, 0, len(list))
	for _, a := range list {
		v := attemptView{Attempt: a.Attempt, Status: a.Status, StartedAt: a.StartedAt.UTC(), FinishedAt: utcPtr(a.FinishedAt)}
		if a.Error != "" {
			v.Error = &a.Error
		}
		out = append(out, v)
	}
	return out
}

// taskControlRoutes registers the task runtime's operations that are
// configured: cancellation and the dead-letter queue.
func (s *Server) taskControlRoutes() {
	o, api := s.opts, s.api
	if o.Canceller != nil {
		huma.Register(api, huma.Operation{OperationID: "cancel-task", Method: http.MethodPost, Path: "/tasks/{task_id}/cancel",
			Summary: "Cancel a task",
			Description: "A task that has not started is cancelled at once (200, status cancelled). A running task's " +
				"agent is told to stop (202, status cancelling); the task becomes cancelled when the agent gives up, " +
				"or keeps the outcome the agent still reached. A final task cannot be cancelled (409).",
			Tags: []string{"tasks"}, Security: bearer,
			Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}},
			handleCancelTask(s.log, o.Tasks, o.Canceller))
	}
	if o.DeadLetters != nil {
		s.deadLetterRoutes()
	}
}

type cancelTaskInput struct {
	TaskID string `path:"task_id" doc:"The task's id, a UUID"`
}

type cancelTaskResponse struct {
	TaskID string `json:"task_id" format:"uuid"`
	Status string `json:"status" enum:"cancelled,cancelling"`
}

type cancelTaskOutput struct {
	Status int
	Body   cancelTaskResponse
}

// handleCancelTask cancels a task of the caller's (an admin's: anyone's).
// Someone else's task answers 404, as a missing one.
func handleCancelTask(log *slog.Logger, tasks TaskReader, c Canceller) func(context.Context, *cancelTaskInput) (*cancelTaskOutput, error) {
	return func(ctx context.Context, in *cancelTaskInput) (*cancelTaskOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		t, p := loadOwned(ctx, log, "task", in.TaskID, tasks.Get,
			func(t store.Task) string { return t.UserID }, who.mayAccess)
		if p != nil {
			return nil, p
		}
		got, err := c.Cancel(ctx, t.ID)
		switch {
		case errors.Is(err, store.ErrConflict):
			status := got.Status
			if status == "" {
				status = t.Status
			}
			return nil, newProblem(http.StatusConflict, fmt.Sprintf("task already %s", status))
		case err != nil:
			return nil, problemFor(ctx, log, err, details{notFound: fmt.Sprintf("task %q does not exist", t.ID)})
		case got.Status == actors.StatusCancelled:
			return &cancelTaskOutput{Status: http.StatusOK, Body: cancelTaskResponse{TaskID: t.ID, Status: "cancelled"}}, nil
		}
		return &cancelTaskOutput{Status: http.StatusAccepted, Body: cancelTaskResponse{TaskID: t.ID, Status: "cancelling"}}, nil
	}
}
