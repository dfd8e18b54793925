package transport

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// The service intake: how a service that is not trusted with other users'
// identities submits tasks straight over NATS. A service publishes on
// ymera.svc.<username>.tasks.<task_type>.<priority>, and the NATS server's
// permissions (nats.conf) allow each service's NATS user only its own
// <username>; so the subject, which the server vouches for, names the owner,
// never the body. The gateway takes these messages from StreamIntake, sets
// the owner to the YMERA user <username> and submits the task as the HTTP
// API does (runner.Intake).
const (
	// StreamIntake is the work-queue stream of service submissions, until
	// the gateway has turned each into a task.
	StreamIntake = "YMERA_INTAKE"
	// IntakeConsumer is the durable consumer every gateway shares on
	// StreamIntake.
	IntakeConsumer = "intake"

	prefixService    = "ymera.svc."
	subjectAllIntake = prefixService + "*.tasks.*.*"
)

// ServiceTaskSubject is where the service whose YMERA username is service
// publishes a task: ymera.svc.<service>.tasks.<task_type>.<priority>.
func ServiceTaskSubject(service, taskType string, p actors.Priority) (string, error) {
	if !validToken(service) {
		return "", fmt.Errorf("%w: service %q is not a subject token", ErrInvalid, service)
	}
	ts, err := TaskSubject(taskType, p)
	if err != nil {
		return "", err
	}
	return prefixService + service + "." + strings.TrimPrefix(ts, "ymera."), nil
}

// ParseServiceTaskSubject splits a subject made by ServiceTaskSubject into
// the service (a YMERA username), the task type and the priority.
func ParseServiceTaskSubject(subject string) (service, taskType string, p actors.Priority, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 6 || parts[0] != "ymera" || parts[1] != "svc" || parts[3] != "tasks" || !validToken(parts[2]) {
		return "", "", "", fmt.Errorf("%w: %q is not ymera.svc.<service>.tasks.<task_type>.<priority>", ErrInvalid, subject)
	}
	if err := checkTaskType(parts[4]); err != nil {
		return "", "", "", err
	}
	if p, err = actors.ParsePriority(parts[5]); err != nil || parts[5] == "" {
		return "", "", "", fmt.Errorf("%w: subject %q: priority %q", ErrInvalid, subject, parts[5])
	}
	return parts[2], parts[4], p, nil
}

// validToken reports whether s is one non-wildcard subject token.
func validToken(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsAny(s, ".*> \t\r\n")
}

// EnsureIntake creates (or updates) StreamIntake and its shared consumer and
// returns the consumer. Replicas is the stream's replica count (1 when 0).
// Messages keep a duplicate window (DefaultDuplicateWindow, 2 minutes, when
// window is 0), so a service may republish with the same Nats-Msg-Id after
// a lost acknowledgement.
func (c *Conn) EnsureIntake(ctx context.Context, replicas int, window time.Duration) (jetstream.Consumer, error) {
	if replicas <= 0 {
		replicas = 1
	}
	if window <= 0 {
		window = DefaultDuplicateWindow
	}
	if _, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamIntake,
		Description: "YMERA tasks published by services, until the gateway accepts them",
		Subjects:    []string{subjectAllIntake},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		Replicas:    replicas,
		Duplicates:  window,
	}); err != nil {
		return nil, wrap("setup stream "+StreamIntake, err)
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, StreamIntake, jetstream.ConsumerConfig{
		Durable:       IntakeConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 256,
	})
	if err != nil {
		return nil, wrap("setup consumer "+IntakeConsumer, err)
	}
	return cons, nil
}
