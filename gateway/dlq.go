package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/ymera/ymera/store"
)

// DeadLetter is one task in the dead-letter queue: it ran out of
// deliveries (its agent kept crashing or never answered).
type DeadLetter struct {
	TaskID   string `json:"task_id" format:"uuid"`
	TaskType string `json:"task_type"`
	Reason   string `json:"reason"`
	// DeadAt is when the task was dead-lettered.
	DeadAt     time.Time `json:"dead_at"`
	Deliveries int       `json:"deliveries" doc:"How many times it was delivered; 0 when unknown"`
}

// DeadLetterAdmin lists and replays the dead-letter queue.
type DeadLetterAdmin interface {
	// DeadLetters returns up to limit entries, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// Replay runs the task again. store.ErrNotFound when it has no entry,
	// store.ErrConflict when the task is not dead_letter, store.ErrUnavailable
	// when NATS or the database is down.
	Replay(ctx context.Context, taskID string) error
}

// deadLetterRoutes registers /admin/dlq, for admins only.
func (s *Server) deadLetterRoutes() {
	api, dlq := s.api, s.opts.DeadLetters
	huma.Register(api, huma.Operation{OperationID: "list-dead-letters", Method: http.MethodGet, Path: "/admin/dlq",
		Summary: "List the dead-letter queue (admin)", Tags: []string{"admin"}, Security: bearer,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}},
		handleListDeadLetters(s.log, dlq))
	huma.Register(api, huma.Operation{OperationID: "replay-dead-letter", Method: http.MethodPost, Path: "/admin/dlq/{task_id}/replay",
		Summary:     "Replay a dead-lettered task (admin)",
		Description: "The task goes back to the queue with its attempts kept and a new message, and leaves the dead-letter queue.",
		Tags:        []string{"admin"}, Security: bearer,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}},
		handleReplayDeadLetter(s.log, dlq))
}

type listDeadLettersInput struct {
	Limit int `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"At most this many entries, oldest first"`
}

type listDeadLettersOutput struct {
	Body []DeadLetter
}

func handleListDeadLetters(log *slog.Logger, dlq DeadLetterAdmin) func(context.Context, *listDeadLettersInput) (*listDeadLettersOutput, error) {
	return func(ctx context.Context, in *listDeadLettersInput) (*listDeadLettersOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := requireAdmin(who); p != nil {
			return nil, p
		}
		limit := in.Limit
		if limit <= 0 {
			limit = 100
		}
		list, err := dlq.DeadLetters(ctx, limit)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		if list == nil {
			list = []DeadLetter{}
		}
		return &listDeadLettersOutput{Body: list}, nil
	}
}

type replayDeadLetterInput struct {
	TaskID string `path:"task_id" doc:"The dead-lettered task's id, a UUID"`
}

type replayDeadLetterResponse struct {
	TaskID string `json:"task_id" format:"uuid"`
	Status string `json:"status" enum:"queued"`
}

type replayDeadLetterOutput struct {
	Body replayDeadLetterResponse
}

func handleReplayDeadLetter(log *slog.Logger, dlq DeadLetterAdmin) func(context.Context, *replayDeadLetterInput) (*replayDeadLetterOutput, error) {
	return func(ctx context.Context, in *replayDeadLetterInput) (*replayDeadLetterOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := requireAdmin(who); p != nil {
			return nil, p
		}
		d := details{
			notFound: fmt.Sprintf("no dead letter for task %q", truncate(in.TaskID, 64)),
			conflict: fmt.Sprintf("task %q is not dead-lettered", truncate(in.TaskID, 64)),
		}
		id, err := uuid.Parse(in.TaskID)
		if err != nil {
			return nil, problemFor(ctx, log, store.ErrNotFound, d)
		}
		if err := dlq.Replay(ctx, id.String()); err != nil {
			return nil, problemFor(ctx, log, err, d)
		}
		return &replayDeadLetterOutput{Body: replayDeadLetterResponse{TaskID: id.String(), Status: "queued"}}, nil
	}
}
