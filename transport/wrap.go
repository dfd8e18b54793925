package transport

import (
	"errors"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Wrap returns a Conn over nc, a connection its caller made and keeps
// owning: an external agent (package sdk) has its own nats.go connection,
// credentials and handlers, and still wants this package's subjects,
// consumer configurations and delivery handling rather than copies of them.
// Close the wrapped Conn never: close nc instead. A nil logger discards
// logs.
func Wrap(nc *nats.Conn, logger *slog.Logger) (*Conn, error) {
	if nc == nil {
		return nil, errors.New("transport: wrap: nil connection")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, wrap("jetstream", err)
	}
	return &Conn{nc: nc, js: js, logger: logger.With("component", "nats"), closed: make(chan struct{})}, nil
}
