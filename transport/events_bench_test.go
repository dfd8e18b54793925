package transport

import (
	"context"
	"testing"
	"time"
)

// BenchmarkStoreEvents measures task events published and stored in
// YMERA_EVENTS (4,096 buckets, asynchronous persistence), with room left
// in the stream and with the stream at its YMERA_EVENTS_MAX_MESSAGES cap,
// where storing each event also removes the oldest. A busy deployment
// lives at the cap; ns/op is per event, until the stream holds it.
func BenchmarkStoreEvents(b *testing.B) {
	const full = 200_000
	for _, bc := range []struct {
		name    string
		maxMsgs int64
		prefill int
	}{
		{"room", 1 << 40, 0},
		{"full", full, full},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := testConn(b, Options{})
			ctx := b.Context()
			if err := c.Setup(ctx, SetupOptions{EventsMaxMsgs: bc.maxMsgs}); err != nil {
				b.Fatal(err)
			}
			ev := benchEvent()
			publish := func(n int) {
				for range n {
					ev.TaskID = newID()
					if err := c.PublishEvent(ctx, ev); err != nil {
						b.Fatal(err)
					}
				}
			}
			publish(bc.prefill)
			base := waitEventsStored(b, c, uint64(bc.prefill))
			b.ResetTimer()
			for b.Loop() {
				publish(1)
			}
			waitEventsStored(b, c, base+uint64(b.N))
		})
	}
}

// waitEventsStored waits until YMERA_EVENTS' last sequence reaches seq and
// returns it.
func waitEventsStored(b *testing.B, c *Conn, seq uint64) uint64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	for {
		s, err := c.JS().Stream(ctx, StreamEvents)
		if err != nil {
			b.Fatal(err)
		}
		if last := s.CachedInfo().State.LastSeq; last >= seq {
			return last
		}
		if ctx.Err() != nil {
			b.Fatalf("events stored: fewer than %d after a minute", seq)
		}
		time.Sleep(time.Millisecond)
	}
}
