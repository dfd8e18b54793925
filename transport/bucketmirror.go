package transport

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A bucket mirror is a KV bucket held in memory and kept current by a
// watch (DenylistView, CancelView). The mirror may answer from memory only
// while it is live: from the end of the watch's initial values until the
// watch fails or the connection leaves CONNECTED. Its owner says what to do
// meanwhile (read the bucket, or take the safe path).

// Waits between attempts to restart a mirror's watch: doubling from the
// first to the last, back to the first once a watch has loaded.
const (
	mirrorRetryMin = 100 * time.Millisecond
	mirrorRetryMax = 5 * time.Second
)

// mirror is the in-memory side of a bucket mirror.
type mirror interface {
	// reset empties the mirror (not live) before a new watch loads it.
	reset()
	// apply records one entry the watch delivered.
	apply(e jetstream.KeyValueEntry)
	setLive(live bool)
}

// mirrorBucket keeps m current with bucket until ctx ends, then returns
// nil. When the watch fails or the connection drops, m stops being live
// and the watch restarts after a wait (mirrorRetryMin, doubling up to
// mirrorRetryMax), or as soon as the connection is back. It returns
// ErrClosed when the connection is closed for good. name names the mirror
// in logs; meanwhile, what its owner does while it is not live.
func (c *Conn) mirrorBucket(ctx context.Context, bucket, name, meanwhile string, m mirror) error {
	nc := c.nc
	status := nc.StatusChanged(nats.CONNECTED, nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	defer nc.RemoveStatusListener(status)

	wait := mirrorRetryMin
	for failed := false; ; failed = true {
		loaded, err := c.followBucket(ctx, status, failed, bucket, name, m)
		if ctx.Err() != nil {
			return nil
		}
		if nc.IsClosed() {
			return fmt.Errorf("transport: %s watch: %w", name, ErrClosed)
		}
		if loaded {
			wait = mirrorRetryMin
		}
		c.logger.Warn(name+" watch down; "+meanwhile+" until it is back", "err", err, "retry_in", wait)
		if !waitToRetry(ctx, status, wait) {
			return nil
		}
		wait = min(2*wait, mirrorRetryMax)
	}
}

// waitToRetry waits d, or less when the connection comes back. It reports
// false when ctx ended.
func waitToRetry(ctx context.Context, status <-chan nats.Status, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case s := <-status:
			if s == nats.CONNECTED {
				return true
			}
		}
	}
}

// followBucket runs one watch: it empties the mirror, loads the bucket,
// marks the mirror live at the end of the initial values and applies every
// change until ctx ends, the watcher closes or the connection leaves
// CONNECTED. It reports whether the mirror went live. The mirror is not
// live before followBucket loads it nor after it returns.
func (c *Conn) followBucket(ctx context.Context, status <-chan nats.Status, restart bool,
	bucket, name string, m mirror) (loaded bool, err error) {
	// Status changes from before this attempt are stale: the state is read
	// below, and changes from now on end the watch.
	for drained := false; !drained; {
		select {
		case <-status:
		default:
			drained = true
		}
	}
	if s := c.nc.Status(); s != nats.CONNECTED {
		return false, fmt.Errorf("transport: watch %s: %w: connection %s", name, ErrUnavailable, s)
	}
	kv, err := c.bucket(ctx, bucket)
	if err != nil {
		return false, wrap("watch "+name, err)
	}
	// What the mirror held may have expired or been replaced while nobody
	// watched; the watch delivers every key that still exists. A write its
	// owner records at once is among the watch's initial values or a later
	// change as well.
	m.reset()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(wctx)
	if err != nil {
		return false, wrap("watch "+name, err)
	}
	defer func() {
		// Not live first: Stop deletes the watch's consumer, a request
		// that waits for the connection to come back (at most the
		// JetStream timeout, 5 s) while the server is away.
		m.setLive(false)
		_ = w.Stop()
		// The subscription hands entries to the channel from its own
		// goroutine and blocks while the channel is full; reading until it
		// closes lets that goroutine end.
		for range w.Updates() {
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return loaded, ctx.Err()
		case s := <-status:
			if s != nats.CONNECTED {
				return loaded, fmt.Errorf("transport: watch %s: %w: connection %s", name, ErrUnavailable, s)
			}
		case e, ok := <-w.Updates():
			if !ok {
				return loaded, fmt.Errorf("transport: watch %s: %w: watcher closed", name, ErrUnavailable)
			}
			if e == nil {
				if !loaded {
					loaded = true
					m.setLive(true)
					if restart {
						c.logger.Info(name + " watch restored")
					}
				}
				continue
			}
			m.apply(e)
		}
	}
}
