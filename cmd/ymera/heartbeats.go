package main

import (
	"context"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// heartbeats publishes the heartbeats the gateway receives over HTTP to the
// NATS presence bucket, where they look like those of built-in agents (an
// external agent has no kind). It is the gateway's HeartbeatSink.
type heartbeats struct{ c *transport.Conn }

func (h heartbeats) PutHeartbeat(ctx context.Context, agentID string, health actors.HealthStatus, at time.Time) error {
	return h.c.PutHeartbeat(ctx, agentID, transport.Heartbeat{Status: health, Time: at})
}
