package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The denylist is the ymera_revoked bucket: the access tokens (by jti) and
// users whose tokens the gateway must refuse before they expire. Every
// gateway replica reads the same bucket, so a logout on one is honoured by
// all. Each key carries its own TTL, the remaining lifetime of the tokens it
// refuses, so the bucket holds only what still matters and needs no sweeper.

// revocation is the value of a denylist key.
type revocation struct {
	V int `json:"v"`
	// At is when the key was revoked.
	At time.Time `json:"revoked_at"`
	// Until is when the key stops mattering; the key's TTL ends then too.
	Until time.Time `json:"until"`
}

// Revoke puts key on the denylist until the given time, when the tokens it
// refuses expire anyway. Revoking a key again replaces it: the revocation
// time and the TTL are the new ones. A time already past stores nothing.
// The key is a token's jti or any name of the caller's (the gateway uses
// "jti.<jti>" and "user.<id>"): 1-128 characters of [A-Za-z0-9_=.-].
func (c *Conn) Revoke(ctx context.Context, key string, until time.Time) error {
	_, _, err := c.revoke(ctx, key, until)
	return err
}

// revoke is Revoke returning what it stored and the key's new revision (the
// stream sequence), or a zero revision when it stored nothing.
func (c *Conn) revoke(ctx context.Context, key string, until time.Time) (revocation, uint64, error) {
	subj, err := revokedKeySubject(key)
	if err != nil {
		return revocation{}, 0, err
	}
	now := time.Now()
	ttl := until.Sub(now)
	if ttl <= 0 {
		return revocation{}, 0, nil
	}
	// Per-message TTLs are whole seconds; round up so the key never
	// expires before the tokens do.
	ttl = ttl.Truncate(time.Second) + time.Second
	r := revocation{V: ProtocolVersion, At: now.UTC(), Until: until.UTC()}
	val, err := json.Marshal(r)
	if err != nil {
		return revocation{}, 0, fmt.Errorf("transport: revoke %s: %w", key, err)
	}
	ack, err := c.js.Publish(ctx, subj, val, jetstream.WithMsgTTL(ttl))
	if err != nil {
		return revocation{}, 0, wrap("revoke "+key, err)
	}
	return r, ack.Sequence, nil
}

// Revoked reports whether key is on the denylist.
func (c *Conn) Revoked(ctx context.Context, key string) (bool, error) {
	_, ok, err := c.RevokedAt(ctx, key)
	return ok, err
}

// RevokedAt reports whether key is on the denylist and, if it is, when it
// was revoked, so that a caller can refuse only tokens issued before then
// (the gateway does for users). A key whose time has passed is not revoked,
// even if the server has not removed it yet.
func (c *Conn) RevokedAt(ctx context.Context, key string) (time.Time, bool, error) {
	if err := checkRevokedKey(key); err != nil {
		return time.Time{}, false, err
	}
	kv, err := c.bucket(ctx, BucketRevoked)
	if err != nil {
		return time.Time{}, false, wrap("check revocation of "+key, err)
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap("check revocation of "+key, err)
	}
	r, err := decodeRevocation(key, e.Value())
	if err != nil {
		return time.Time{}, false, err
	}
	if !time.Now().Before(r.Until) {
		return time.Time{}, false, nil
	}
	return r.At, true, nil
}

// decodeRevocation decodes the value stored under key.
func decodeRevocation(key string, val []byte) (revocation, error) {
	var r revocation
	if err := json.Unmarshal(val, &r); err != nil {
		return revocation{}, fmt.Errorf("%w: revocation of %s: %w", ErrInvalid, key, err)
	}
	if err := checkVersion(r.V); err != nil {
		return revocation{}, fmt.Errorf("transport: revocation of %s: %w", key, err)
	}
	return r, nil
}
