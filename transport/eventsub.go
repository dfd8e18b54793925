package transport

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// eventWatchInactive is how long the server keeps a watch's consumer after
// its client vanished without stopping it (a crashed gateway).
const eventWatchInactive = 30 * time.Second

// EventMessage is one event as stored in YMERA_EVENTS.
type EventMessage struct {
	// Seq is the event's stream sequence: strictly increasing across the
	// whole stream, so a watcher that remembers the last one it saw can
	// resume after it (WatchEvents' since).
	Seq uint64
	// Subject is the subject the event was published on (for a task event
	// ymera.events.task.<task_id>, although the stream files it under its
	// bucket: see subjects.go).
	Subject string
	// Event is the decoded body.
	Event Event
}

// WatchEvents delivers the events of YMERA_EVENTS published on subjects
// that match filter (a subject from subjects.go, wildcards allowed), in
// stream order, to deliver, until stop is called. A filter of one task's
// events reads the bucket the stream files them in and delivers only that
// task's; ymera.events.task.* (or .>) reads every bucket. With since 0 it
// delivers only events stored from now on; with since > 0 it replays every
// stored event after sequence since first, then follows new ones, so a
// client that saw since misses nothing still kept (see
// SetupOptions.EventsMaxAge).
//
// deliver is called from one goroutine, one event at a time; it must not
// block for long, since it holds up this watch (never other watches or
// publishers). Events this version cannot decode are skipped.
//
// The watch is a JetStream ordered consumer: it needs no acknowledgements
// and recreates itself after a gap or a reconnect, resuming where it
// stopped. stop ends the watch and returns once deliver will not be
// called again; it is safe to call more than once.
func (c *Conn) WatchEvents(ctx context.Context, filter string, since uint64, deliver func(EventMessage)) (stop func(), err error) {
	if filter == "" || deliver == nil {
		return nil, fmt.Errorf("%w: watch events needs a filter and a deliver function", ErrInvalid)
	}
	stored, onlyTask, err := storedFilter(filter)
	if err != nil {
		return nil, err
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{stored},
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: eventWatchInactive,
	}
	if since > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = since + 1
	}
	cons, err := c.js.OrderedConsumer(ctx, StreamEvents, cfg)
	if err != nil {
		return nil, wrap("watch events "+filter, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		ev, err := DecodeEvent(m.Data())
		if err != nil {
			c.logger.Debug("transport: skipping undecodable event", "subject", m.Subject(), "seq", md.Sequence.Stream, "error", err)
			return
		}
		if onlyTask != "" && ev.TaskID != onlyTask {
			return // another task in the same bucket
		}
		deliver(EventMessage{Seq: md.Sequence.Stream, Subject: publishedSubject(m.Subject(), ev), Event: ev})
	})
	if err != nil {
		return nil, wrap("watch events "+filter, err)
	}
	return func() {
		cc.Stop()
		<-cc.Closed()
	}, nil
}

// storedFilter returns the subject filter of YMERA_EVENTS that holds the
// events published on filter, and the task whose events alone a filter of
// one task keeps ("" for all).
func storedFilter(filter string) (stored, onlyTask string, err error) {
	rest, ok := strings.CutPrefix(filter, prefixTaskEvents)
	switch {
	case !ok:
		return filter, "", nil
	case rest == "*" || rest == ">":
		return prefixTaskBuckets + rest, "", nil
	case ValidTaskID(rest):
		return storedTaskEvents(rest), rest, nil
	}
	return "", "", fmt.Errorf("%w: task event filter %q must end in a task id, * or >", ErrInvalid, filter)
}

// publishedSubject returns the subject an event stored under stored was
// published on: its task's, for a task event filed under its bucket.
func publishedSubject(stored string, ev Event) string {
	if strings.HasPrefix(stored, prefixTaskBuckets) && ValidTaskID(ev.TaskID) {
		return prefixTaskEvents + ev.TaskID
	}
	return stored
}
