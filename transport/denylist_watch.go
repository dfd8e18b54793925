package transport

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

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
	return v.c.mirrorBucket(ctx, BucketRevoked, "denylist", "reading the bucket directly", v)
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
