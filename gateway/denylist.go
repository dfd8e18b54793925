package gateway

import (
	"context"
	"sync"
	"time"
)

// Denylist remembers revoked access tokens and users until the tokens they
// refuse expire. *transport.Conn satisfies it with the ymera_revoked NATS KV
// bucket, shared by every gateway replica; *transport.DenylistView serves
// the same bucket from memory, kept current by a watch ("ymera serve" uses
// it).
//
// Keys are "jti.<jti>" (one token, revoked by logout) and "user.<id>" (every
// token of the user issued up to the revocation: deactivation, a role
// change, a password change).
type Denylist interface {
	// Revoke lists key until the given time; revoking again moves the
	// revocation time to now.
	Revoke(ctx context.Context, key string, until time.Time) error
	// RevokedAt reports whether key is listed and when it was revoked.
	RevokedAt(ctx context.Context, key string) (at time.Time, revoked bool, err error)
}

// memDenylist is the Denylist of a gateway given none: correct for one
// process, forgotten at restart, and not shared between replicas. New logs a
// warning when it falls back to it.
type memDenylist struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]memRevocation
}

type memRevocation struct{ at, until time.Time }

func newMemDenylist(now func() time.Time) *memDenylist {
	return &memDenylist{now: now, m: map[string]memRevocation{}}
}

// Revoke implements Denylist.
func (d *memDenylist) Revoke(_ context.Context, key string, until time.Time) error {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	// Drop what has expired, so the map holds only live entries.
	for k, r := range d.m {
		if !now.Before(r.until) {
			delete(d.m, k)
		}
	}
	if now.Before(until) {
		d.m[key] = memRevocation{at: now, until: until}
	}
	return nil
}

// RevokedAt implements Denylist.
func (d *memDenylist) RevokedAt(_ context.Context, key string) (time.Time, bool, error) {
	d.mu.Lock()
	r, ok := d.m[key]
	d.mu.Unlock()
	if !ok || !d.now().Before(r.until) {
		return time.Time{}, false, nil
	}
	return r.at, true, nil
}
