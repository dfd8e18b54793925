package transport

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
)

// RateLimitTTL is how long a counter of ymera_ratelimit lives after its last
// update. The gateway counts in one-minute windows and only ever reads the
// current one, so two windows are enough; a counter never outlives the
// window after its own.
const RateLimitTTL = 2 * time.Minute

// rateCASAttempts bounds the compare-and-set retries of one AddRate when
// replicas race on the same counter; each retry waits a little longer, with
// jitter, so that racers spread out.
const rateCASAttempts = 32

// rateKey names one shared rate-limit counter: how many requests Scope (what
// is limited: "req", "login_ip", ...) has seen from ID (a user id, an IP
// address, a username) during fixed window number Window.
type rateKey struct {
	Scope  string
	Window int64
	ID     string
}

// kvKey is the counter's key in ymera_ratelimit: <scope>.<window>.<id>, with
// the id in unpadded base64url so that any string (an IPv6 address, a
// username with dots) is a valid key token.
func (k rateKey) kvKey() (string, error) {
	if !actors.ValidToken(k.Scope) {
		return "", fmt.Errorf("%w: rate limit scope %q is not a token", ErrInvalid, k.Scope)
	}
	if k.ID == "" {
		return "", fmt.Errorf("%w: rate limit key has no id", ErrInvalid)
	}
	return k.Scope + "." + strconv.FormatInt(k.Window, 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(k.ID)), nil
}

// parseRateKey reverses kvKey.
func parseRateKey(s string) (rateKey, bool) {
	scope, rest, ok := strings.Cut(s, ".")
	if !ok {
		return rateKey{}, false
	}
	win, enc, ok := strings.Cut(rest, ".")
	if !ok {
		return rateKey{}, false
	}
	w, err := strconv.ParseInt(win, 10, 64)
	if err != nil {
		return rateKey{}, false
	}
	id, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(id) == 0 {
		return rateKey{}, false
	}
	return rateKey{Scope: scope, Window: w, ID: string(id)}, true
}

// AddRate adds delta to the shared counter of id in scope ("req",
// "login_ip": a token) and fixed window number window, and returns its new
// total, the sum of what every gateway replica added. Concurrent adds from several
// replicas are serialised by compare-and-set on the key's revision; a delta
// of 0 only reads. Errors wrap ErrUnavailable when NATS does not answer.
func (c *Conn) AddRate(ctx context.Context, scope string, window int64, id string, delta int64) (int64, error) {
	key, err := rateKey{Scope: scope, Window: window, ID: id}.kvKey()
	if err != nil {
		return 0, err
	}
	kv, err := c.bucket(ctx, BucketRateLimits)
	if err != nil {
		return 0, wrap("rate limit "+key, err)
	}
	for attempt := range rateCASAttempts {
		if attempt > 0 {
			wait := rand.N(time.Duration(attempt) * time.Millisecond)
			select {
			case <-ctx.Done():
				return 0, wrap("rate limit "+key, ctx.Err())
			case <-time.After(wait):
			}
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if delta == 0 {
				return 0, nil
			}
			_, err = kv.Create(ctx, key, strconv.AppendInt(nil, delta, 10))
			switch {
			case err == nil:
				return delta, nil
			case errors.Is(err, jetstream.ErrKeyExists):
				continue // another replica created it first
			}
			return 0, wrap("rate limit "+key, err)
		}
		if err != nil {
			return 0, wrap("rate limit "+key, err)
		}
		cur, perr := strconv.ParseInt(string(e.Value()), 10, 64)
		if perr != nil {
			// Not ours to interpret: start again from what we add.
			cur = 0
		}
		if delta == 0 {
			return cur, nil
		}
		total := cur + delta
		_, err = kv.Update(ctx, key, strconv.AppendInt(nil, total, 10), e.Revision())
		switch {
		case err == nil:
			return total, nil
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			continue
		}
		return 0, wrap("rate limit "+key, err)
	}
	return 0, fmt.Errorf("transport: rate limit %s: %w: %d concurrent updates lost the race", key, ErrConflict, rateCASAttempts)
}

// WatchRates calls fn with the total of every counter in ymera_ratelimit,
// first the current ones and then each time any replica changes one, until
// ctx ends (it then returns nil). fn runs on WatchRates' goroutine and must
// not block. The watcher follows NATS reconnects by itself; an error means
// the watch could not start or ended without ctx ending.
func (c *Conn) WatchRates(ctx context.Context, fn func(scope string, window int64, id string, total int64)) error {
	kv, err := c.bucket(ctx, BucketRateLimits)
	if err != nil {
		return wrap("watch rate limits", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(wctx)
	if err != nil {
		return wrap("watch rate limits", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("transport: watch rate limits: %w: watcher stopped", ErrUnavailable)
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // end of the initial values, or an expiry
			}
			k, ok := parseRateKey(e.Key())
			if !ok {
				continue
			}
			total, err := strconv.ParseInt(string(e.Value()), 10, 64)
			if err != nil {
				continue
			}
			fn(k.Scope, k.Window, k.ID, total)
		}
	}
}
