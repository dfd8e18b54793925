package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testClock is a clock the test moves by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *testClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }

// cachedTokens makes the tokens of a test, on clock now.
func cachedTokens(t *testing.T, now func() time.Time) *tokens {
	t.Helper()
	tok, err := newTokens(AuthConfig{Secret: []byte("0123456789abcdef0123456789abcdef-cache")}, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const cacheUser = "0190a7e4-0000-7000-8000-0000000000cc"

// TestTokenCacheLogout: a token answered from the cache is still refused
// once it is logged out, and once its user is revoked.
func TestTokenCacheLogout(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	tok := cachedTokens(t, clock.now)
	deny := newMemDenylist(clock.now)
	a := &authenticator{tokens: tok, deny: deny, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()

	raw, err := tok.issue(cacheUser, "user")
	if err != nil {
		t.Fatal(err)
	}
	other, err := tok.issue(cacheUser, "user")
	if err != nil {
		t.Fatal(err)
	}
	p, prob := a.checkToken(ctx, raw)
	if prob != nil {
		t.Fatalf("fresh token refused: %v", prob)
	}
	if _, ok := tok.cache.get(raw, clock.now()); !ok {
		t.Fatal("a verified token is not in the cache")
	}

	// Logout revokes the token's jti.
	if err := deny.Revoke(ctx, tokenDenyKey(p.TokenID), p.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if _, prob := a.checkToken(ctx, raw); prob == nil || prob.Status != http.StatusUnauthorized {
		t.Fatalf("logged-out cached token: %v, want 401", prob)
	}
	if _, prob := a.checkToken(ctx, other); prob != nil {
		t.Fatalf("the user's other token refused after one logout: %v", prob)
	}

	// Deactivation revokes every token of the user issued so far.
	clock.add(time.Second)
	if err := deny.Revoke(ctx, userDenyKey(cacheUser), clock.now().Add(tok.maxLifetime())); err != nil {
		t.Fatal(err)
	}
	if _, prob := a.checkToken(ctx, other); prob == nil || prob.Status != http.StatusUnauthorized {
		t.Fatalf("cached token of a revoked user: %v, want 401", prob)
	}
}

// TestTokenCacheExpiry: the cache changes no answer about a token's
// lifetime. At every point from before nbf to past exp and its leeway, a
// cached verification agrees with a full one, and an expired token is
// refused as expired although it is in the cache.
func TestTokenCacheExpiry(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	tok := cachedTokens(t, clock.now)
	issued := clock.now()
	raw, err := tok.issue(cacheUser, "user")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.verify(raw); err != nil {
		t.Fatal(err)
	}
	exp := issued.Add(tok.expiry)
	for _, at := range []time.Time{
		issued.Add(-tokenLeeway - time.Second), // before nbf and its leeway
		issued.Add(-time.Second),               // before nbf, inside the leeway
		issued,
		exp.Add(-time.Second),
		exp,                                // exp itself: only the leeway admits it
		exp.Add(tokenLeeway - time.Second), // inside the leeway
		exp.Add(tokenLeeway + time.Second), // expired
		exp.Add(24 * time.Hour),
	} {
		clock.set(at)
		_, cachedErr := tok.verify(raw)
		_, _, fullErr := tok.verifyFull(raw)
		if (cachedErr == nil) != (fullErr == nil) {
			t.Errorf("at %s: cached verification says %v, full one %v", at.Sub(issued), cachedErr, fullErr)
		}
	}

	clock.set(exp.Add(tokenLeeway + time.Second))
	if _, err := tok.verify(raw); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired cached token: %v, want %v", err, jwt.ErrTokenExpired)
	}
	a := &authenticator{tokens: tok, deny: newMemDenylist(clock.now), log: slog.New(slog.DiscardHandler)}
	if _, prob := a.checkToken(context.Background(), raw); prob == nil || prob.Detail != "the bearer token has expired" {
		t.Errorf("expired cached token: %v, want a 401 saying it expired", prob)
	}
}

// TestTokenCacheSignature: a token that differs from a cached one in one
// byte of its signature is checked in full and refused.
func TestTokenCacheSignature(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	tok := cachedTokens(t, clock.now)
	raw, err := tok.issue(cacheUser, "user")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.verify(raw); err != nil {
		t.Fatal(err)
	}
	// Change a byte in the middle of the signature: the last character
	// carries padding bits that a lenient base64 decoder may ignore.
	b := []byte(raw)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	if _, err := tok.verify(string(b)); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("token with a changed signature byte: %v, want %v", err, jwt.ErrTokenSignatureInvalid)
	}
	if _, ok := tok.cache.get(string(b), clock.now()); ok {
		t.Error("a refused token was cached")
	}
	if _, err := tok.verify(raw); err != nil {
		t.Errorf("the original token after the forgery: %v", err)
	}
}

// TestTokenCacheBounded: a flood of distinct valid tokens does not grow
// the cache past two generations, and a token in steady use stays in it.
func TestTokenCacheBounded(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	tok := cachedTokens(t, clock.now)
	const generation = 16
	tok.cache = newTokenCache(generation)
	hot, err := tok.issue(cacheUser, "user")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 * generation {
		raw, err := tok.issue(fmt.Sprintf("0190a7e4-0000-7000-8000-%012d", i), "user")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tok.verify(raw); err != nil {
			t.Fatal(err)
		}
		if _, err := tok.verify(hot); err != nil {
			t.Fatal(err)
		}
		if n := tok.cache.len(); n > 2*generation {
			t.Fatalf("the cache holds %d tokens, more than %d", n, 2*generation)
		}
	}
	if _, ok := tok.cache.get(hot, clock.now()); !ok {
		t.Error("a token in steady use was evicted")
	}
}
