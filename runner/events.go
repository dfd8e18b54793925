package runner

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// EventPublisher sends lifecycle events without waiting for them to be
// stored: events are for watchers and never on the critical path.
type EventPublisher interface {
	PublishEvent(ctx context.Context, e transport.Event) error
}

// taskEvent describes something that happened to t. It names t's owner so
// that the gateway can show the event to that user only.
func taskEvent(typ string, t actors.Task, status actors.Status, data json.RawMessage) transport.Event {
	return transport.Event{
		V:      transport.ProtocolVersion,
		Type:   typ,
		TaskID: t.ID,
		UserID: t.UserID,
		Status: string(status),
		Time:   time.Now().UTC(),
		Data:   data,
	}
}

// publishEvent sends e if there is a publisher, logging (never returning) a
// failure: the task's row is the record, the event only a notification.
func publishEvent(ctx context.Context, p EventPublisher, log *slog.Logger, e transport.Event) {
	if p == nil {
		return
	}
	if err := p.PublishEvent(ctx, e); err != nil {
		log.DebugContext(ctx, "event not published", "type", e.Type, "task_id", e.TaskID, "error", err)
	}
}
