package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reading the denylist costs two KV reads per authenticated request, each a
// request/reply through the server. A DenylistView keeps the whole bucket in
// memory instead, followed by a watch, and answers from there. The bucket is
// small (one key per logout or revoked user, each gone when the tokens it
// refuses expire), so memory is not the concern; staleness is. The view
// answers from memory only while its watch is current, and reads the bucket
// directly otherwise: before the first load, while NATS is unreachable, and
// while the watch restarts. A direct read that fails is an error, as it is
// for Conn.RevokedAt, so a view never turns "cannot tell" into "not revoked".

// Waits between attempts to restart the denylist watch: doubling from the
// first to the last, back to the first once a watch has loaded.
const (
	denylistRetryMin = 100 * time.Millisecond
	denylistRetryMax = 5 * time.Second
)

// DenylistView is the ymera_revoked bucket held in memory and kept current
// by a watch, for a gateway that reads it on every request. RevokedAt and
// Revoke have the meaning of Conn.RevokedAt and Conn.Revoke; the view only
// changes where RevokedAt finds the answer. A revocation written by another
// gateway reaches the view as fast as the server delivers the watch (the
// time of one message); one written through the view itself is seen by it
// at once.
//
// Run follows the bucket; without it, or while its watch is not current,
// every RevokedAt reads the bucket as Conn.RevokedAt does. DenylistView is
// safe for concurrent use.
type DenylistView struct {
	c       *Conn
	running atomic.Bool

	mu sync.RWMutex
	// live is true while the watch has delivered the bucket's initial values
	// and the connection has not dropped since: m is current.
	live bool
	m    map[string]viewedRevocation
}

// viewedRevocation is a denylist key as the view holds it.
type viewedRevocation struct {
	at, until time.Time
	// rev is the key's revision (its stream sequence), so that a value
	// written through the view and recorded at once is not replaced by an
	// older one the watch delivers afterwards.
	rev uint64
	// err is set when the stored value does not decode: reads of the key
	// fail, as a direct read does, rather than guess.
	err error
}

// NewDenylistView returns a view of c's denylist. It reads the bucket
// directly until Run has loaded it.
func NewDenylistView(c *Conn) *DenylistView {
	return &DenylistView{c: c, m: make(map[string]viewedRevocation)}
}

// Run watches the bucket and keeps the view current until ctx ends, then
// returns nil. When the watch fails or the connection drops, the view goes
// back to direct reads and Run restarts the watch after a wait (100 ms,
// doubling up to 5 s), or as soon as the connection is back. Run returns
// ErrClosed when the connection is closed for good. Call it once.
func (v *DenylistView) Run(ctx context.Context) error {
	if !v.running.CompareAndSwap(false, true) {
		return errors.New("transport: denylist view: Run called twice")
	}
	nc := v.c.nc
	status := nc.StatusChanged(nats.CONNECTED, nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	defer nc.RemoveStatusListener(status)

	wait := denylistRetryMin
	for failed := false; ; failed = true {
		loaded, err := v.follow(ctx, status, failed)
		if ctx.Err() != nil {
			return nil
		}
		if nc.IsClosed() {
			return fmt.Errorf("transport: denylist watch: %w", ErrClosed)
		}
		if loaded {
			wait = denylistRetryMin
		}
		v.c.logger.Warn("denylist watch down; reading the bucket directly until it is back", "err", err, "retry_in", wait)
		if !waitToRetry(ctx, status, wait) {
			return nil
		}
		wait = min(2*wait, denylistRetryMax)
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

// follow runs one watch: it empties the view, loads the bucket, marks the
// view live at the end of the initial values and applies every change
// until ctx ends, the watcher closes or the connection leaves CONNECTED.
// It reports whether the view went live. The view is not live before
// follow loads it nor after follow returns.
func (v *DenylistView) follow(ctx context.Context, status <-chan nats.Status, restart bool) (loaded bool, err error) {
	// Status changes from before this attempt are stale: the state is read
	// below, and changes from now on end the watch.
	for drained := false; !drained; {
		select {
		case <-status:
		default:
			drained = true
		}
	}
	if s := v.c.nc.Status(); s != nats.CONNECTED {
		return false, fmt.Errorf("transport: watch denylist: %w: connection %s", ErrUnavailable, s)
	}
	kv, err := v.c.bucket(ctx, BucketRevoked)
	if err != nil {
		return false, wrap("watch denylist", err)
	}
	// What the view held may have expired or been replaced while nobody
	// watched; the watch delivers every key that still exists. Revoke
	// records only what the server has stored, so what it records from now
	// on is among the watch's initial values or a later change as well.
	v.reset()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(wctx)
	if err != nil {
		return false, wrap("watch denylist", err)
	}
	defer func() {
		// Not live first: Stop deletes the watch's consumer, a request
		// that waits for the connection to come back (at most the
		// JetStream timeout, 5 s) while the server is away.
		v.setLive(false)
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
				return loaded, fmt.Errorf("transport: watch denylist: %w: connection %s", ErrUnavailable, s)
			}
		case e, ok := <-w.Updates():
			if !ok {
				return loaded, fmt.Errorf("transport: watch denylist: %w: watcher closed", ErrUnavailable)
			}
			if e == nil {
				if !loaded {
					loaded = true
					v.setLive(true)
					if restart {
						v.c.logger.Info("denylist watch restored")
					}
				}
				continue
			}
			v.apply(e)
		}
	}
}

// apply records one change the watch delivered. Deletions, purges and the
// markers the server leaves when a key's TTL ends all remove the key.
func (v *DenylistView) apply(e jetstream.KeyValueEntry) {
	key, rev := e.Key(), e.Revision()
	switch e.Operation() {
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		v.mu.Lock()
		if cur, ok := v.m[key]; ok && cur.rev <= rev {
			delete(v.m, key)
		}
		v.mu.Unlock()
		return
	}
	r, err := decodeRevocation(key, e.Value())
	if err != nil {
		v.c.logger.Warn("undecodable denylist entry; reads of the key fail until it is replaced or expires", "key", key, "err", err)
	}
	v.put(key, viewedRevocation{at: r.At, until: r.Until, rev: rev, err: err})
}

// put records key unless the view holds a later revision of it.
func (v *DenylistView) put(key string, r viewedRevocation) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if cur, ok := v.m[key]; ok && cur.rev > r.rev {
		return
	}
	v.m[key] = r
}

func (v *DenylistView) setLive(live bool) {
	v.mu.Lock()
	v.live = live
	v.mu.Unlock()
}

// reset empties the view before a new watch loads it.
func (v *DenylistView) reset() {
	v.mu.Lock()
	v.live = false
	clear(v.m)
	v.mu.Unlock()
}

// Live reports whether RevokedAt answers from memory (the watch is current)
// rather than by reading the bucket.
func (v *DenylistView) Live() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.live
}

// Revoke puts key on the denylist until the given time, as Conn.Revoke
// does, and records it in the view at once, so that this view refuses it
// before the watch brings it back.
func (v *DenylistView) Revoke(ctx context.Context, key string, until time.Time) error {
	r, rev, err := v.c.revoke(ctx, key, until)
	if err != nil || rev == 0 {
		return err
	}
	v.put(key, viewedRevocation{at: r.At, until: r.Until, rev: rev})
	return nil
}

// Revoked reports whether key is on the denylist.
func (v *DenylistView) Revoked(ctx context.Context, key string) (bool, error) {
	_, ok, err := v.RevokedAt(ctx, key)
	return ok, err
}

// RevokedAt reports whether key is on the denylist and, if it is, when it
// was revoked, as Conn.RevokedAt does: from memory while the watch is
// current, else by reading the bucket. A key whose time has passed is not
// revoked, even before the server's expiry marker reaches the view.
func (v *DenylistView) RevokedAt(ctx context.Context, key string) (time.Time, bool, error) {
	if err := checkRevokedKey(key); err != nil {
		return time.Time{}, false, err
	}
	v.mu.RLock()
	live := v.live
	r, ok := v.m[key]
	v.mu.RUnlock()
	switch {
	case !live:
		return v.c.RevokedAt(ctx, key)
	case !ok:
		return time.Time{}, false, nil
	case r.err != nil:
		return time.Time{}, false, r.err
	case !time.Now().Before(r.until):
		return time.Time{}, false, nil
	}
	return r.at, true, nil
}
