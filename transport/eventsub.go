package transport

import (
	"context"
	"fmt"
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
	// Subject is the subject the event was published on.
	Subject string
	// Event is the decoded body.
	Event Event
}

// WatchEvents delivers the events of YMERA_EVENTS whose subject matches
// filter (a subject from subjects.go, wildcards allowed), in stream order,
// to deliver, until stop is called. With since 0 it delivers only events
// stored from now on; with since > 0 it replays every stored event after
// sequence since first, then follows new ones, so a client that saw since
// misses nothing still kept (see SetupOptions.EventsMaxAge).
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
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter},
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
		deliver(EventMessage{Seq: md.Sequence.Stream, Subject: m.Subject(), Event: ev})
	})
	if err != nil {
		return nil, wrap("watch events "+filter, err)
	}
	return func() {
		cc.Stop()
		<-cc.Closed()
	}, nil
}
