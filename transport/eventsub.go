package transport

import (
	"context"
	"errors"
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

// WatchFrom says where a watch of YMERA_EVENTS begins.
type WatchFrom struct {
	// Since, when not 0, replays every stored event after this stream
	// sequence before following new ones; 0 delivers only the events
	// stored from now on.
	Since uint64
	// NotBefore, when set, is a time before which the filter's events
	// cannot have been published (a task's are all published after its
	// row was created). A replay then begins at the later of Since and
	// NotBefore less EventClockSkew, so resuming one task's subscription
	// from far back reads its bucket from the task's creation on, not
	// from Since. It changes nothing without Since.
	NotBefore time.Time
}

// EventClockSkew is how far the clock of the NATS server that stamps a
// stored event may lag the clock that gave a WatchFrom.NotBefore (the
// database's or a gateway's): a replay begins this much earlier than
// NotBefore.
const EventClockSkew = time.Minute

// WatchEvents delivers the events of YMERA_EVENTS published on subjects
// that match filter (a subject from subjects.go, wildcards allowed), in
// stream order, to deliver, until stop is called. A filter of one task's
// events reads the bucket the stream files them in and delivers only that
// task's; ymera.events.task.* (or .>) reads every bucket (a replay also
// reads the subjects task events had before the buckets, while the stream
// still holds events on them). from says where it begins: with from.Since
// 0 it delivers only events stored from now on; otherwise it replays
// every stored event after sequence from.Since first (skipping what
// from.NotBefore rules out), then follows new ones, so a client that saw
// from.Since misses nothing still kept (see SetupOptions.EventsMaxAge).
//
// deliver is called from one goroutine, one event at a time; it must not
// block for long, since it holds up this watch (never other watches or
// publishers). Events this version cannot decode are skipped.
//
// The watch is a JetStream ordered consumer: it needs no acknowledgements
// and recreates itself after a gap or a reconnect, resuming where it
// stopped. stop ends the watch and returns once deliver will not be
// called again; it is safe to call more than once.
func (c *Conn) WatchEvents(ctx context.Context, filter string, from WatchFrom, deliver func(EventMessage)) (stop func(), err error) {
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
	if from.Since > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = from.Since + 1
	}
	if from.Since > 0 && (!from.NotBefore.IsZero() || stored != filter) {
		stream, err := c.js.Stream(ctx, StreamEvents)
		if err != nil {
			return nil, wrap("watch events "+filter, err)
		}
		start, err := replayStart(ctx, stream, from)
		if err != nil {
			return nil, wrap("watch events "+filter, err)
		}
		if !start.IsZero() {
			cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
			cfg.OptStartSeq, cfg.OptStartTime = 0, &start
		}
		if stored != filter {
			// A stream made before task events went into buckets still
			// holds the older ones under the subjects they were published
			// on, until they age out; a replay reads those too.
			older, err := holdsAfter(ctx, stream, filter, from.Since)
			if err != nil {
				return nil, wrap("watch events "+filter, err)
			}
			if older {
				cfg.FilterSubjects = append(cfg.FilterSubjects, filter)
			}
		}
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
		if md.Sequence.Stream <= from.Since {
			return // stored before the time a replay began, and seen
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

// replayStart returns the time a replay of stream after from.Since
// begins at, or the zero time when it begins at from.Since+1: the time
// when from.NotBefore less EventClockSkew is later than the event stored
// at from.Since (or that event is gone, so from.Since is older than all
// the stream keeps).
func replayStart(ctx context.Context, stream jetstream.Stream, from WatchFrom) (time.Time, error) {
	if from.NotBefore.IsZero() {
		return time.Time{}, nil
	}
	start := from.NotBefore.Add(-EventClockSkew)
	raw, err := stream.GetMsg(ctx, from.Since)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return start, nil
	case err != nil:
		return time.Time{}, err
	case raw.Time.Before(start):
		return start, nil
	}
	return time.Time{}, nil
}

// holdsAfter says whether stream holds an event on subject (wildcards
// allowed) after sequence since.
func holdsAfter(ctx context.Context, stream jetstream.Stream, subject string, since uint64) (bool, error) {
	_, err := stream.GetMsg(ctx, since+1, jetstream.WithGetMsgSubject(subject))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
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
