package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// UserLookup finds the YMERA account a service submits as.
type UserLookup interface {
	GetByUsername(ctx context.Context, username string) (store.User, error)
}

// IntakeConfig is what StartIntake needs.
type IntakeConfig struct {
	Conn      *transport.Conn
	Users     UserLookup
	Submitter *Submitter // the gateway's: same row, queue and events as HTTP
	Events    EventPublisher
	// Replicas of StreamIntake, as YMERA_STREAM_REPLICAS.
	Replicas int
	// DuplicateWindow of StreamIntake (0: transport.DefaultDuplicateWindow).
	DuplicateWindow time.Duration
	// DefaultMaxAttempts applies when the body names none (as the API's).
	DefaultMaxAttempts int
	Logger             *slog.Logger
}

// Intake turns the tasks services publish on
// ymera.svc.<username>.tasks.<type>.<priority> into tasks owned by the YMERA
// user <username> (transport/intake.go has the why). Gateways run it; they
// share its consumer.
type Intake struct {
	cfg IntakeConfig
	cc  jetstream.ConsumeContext
}

// StartIntake makes the intake stream and consumer and starts consuming.
func StartIntake(ctx context.Context, cfg IntakeConfig) (*Intake, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "intake")
	if cfg.DefaultMaxAttempts <= 0 {
		cfg.DefaultMaxAttempts = 3
	}
	cons, err := cfg.Conn.EnsureIntake(ctx, cfg.Replicas, cfg.DuplicateWindow)
	if err != nil {
		return nil, err
	}
	in := &Intake{cfg: cfg}
	if in.cc, err = cons.Consume(in.handle); err != nil {
		return nil, fmt.Errorf("runner: intake: %w", err)
	}
	return in, nil
}

// Stop stops taking messages; one in hand finishes.
func (in *Intake) Stop() {
	if in != nil && in.cc != nil {
		in.cc.Stop()
	}
}

// handle accepts one submission. A message that can never become a task is
// terminated (and a task.failed event names why, when the body had a task
// id); one the store could not take now is handed back for later.
func (in *Intake) handle(msg jetstream.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	log := in.cfg.Logger.With("subject", msg.Subject())
	t, err := in.task(ctx, msg)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		log.WarnContext(ctx, "intake: store unavailable; retrying the submission", "error", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	case err != nil:
		log.WarnContext(ctx, "intake: submission refused", "task_id", t.ID, "error", err)
		if transport.ValidTaskID(t.ID) {
			data, _ := json.Marshal(map[string]string{"error": err.Error()})
			publishEvent(ctx, in.cfg.Events, log, taskEvent("task.failed", t, actors.StatusFailed, data))
		}
		_ = msg.Term()
		return
	}
	err = in.cfg.Submitter.Submit(ctx, t)
	switch {
	case err == nil, errors.Is(err, store.ErrConflict):
		// Conflict: a redelivery of a submission already made (or an id
		// that is taken, which must not touch the other task).
		_ = msg.Ack()
	case errors.Is(err, ErrQueueUnavailable):
		// Submit marked the row failed and announced it; that is the outcome.
		log.WarnContext(ctx, "intake: task failed to queue", "task_id", t.ID, "error", err)
		_ = msg.Ack()
	default:
		log.WarnContext(ctx, "intake: submit failed; retrying", "task_id", t.ID, "error", err)
		_ = msg.NakWithDelay(5 * time.Second)
	}
}

// task decodes and checks the submission and makes the subject's service
// its owner; whatever user_id the body claims is replaced.
func (in *Intake) task(ctx context.Context, msg jetstream.Msg) (actors.Task, error) {
	service, taskType, prio, err := transport.ParseServiceTaskSubject(msg.Subject())
	if err != nil {
		return actors.Task{}, err
	}
	t, err := transport.DecodeTask(msg.Data())
	if err != nil {
		var id struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(msg.Data(), &id)
		return actors.Task{ID: id.ID}, err
	}
	if t.Type != taskType || t.Priority != prio {
		return t, fmt.Errorf("body task_type %q priority %q differ from the subject's %q %q",
			t.Type, t.Priority, taskType, prio)
	}
	u, err := in.cfg.Users.GetByUsername(ctx, service)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t, fmt.Errorf("no YMERA user %q owns service subject %s", service, msg.Subject())
	case err != nil:
		return t, err
	case !u.IsActive:
		return t, fmt.Errorf("YMERA user %q is inactive", service)
	}
	t.UserID = u.ID
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = in.cfg.DefaultMaxAttempts
	}
	if t.Name == "" {
		t.Name = t.Type
	}
	// A creation time later than now is the publisher's clock running
	// ahead: the task reached us now. Readers rely on no event of a task
	// coming before its creation (a WebSocket replay begins there).
	if now := time.Now().UTC(); t.CreatedAt.IsZero() || t.CreatedAt.After(now) {
		t.CreatedAt = now
	}
	return t, nil
}
