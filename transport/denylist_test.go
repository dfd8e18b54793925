package transport

import (
	"errors"
	"testing"
	"time"
)

func TestDenylist(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)

	if ok, err := c.Revoked(ctx, "jti.ABC"); err != nil || ok {
		t.Fatalf("Revoked before Revoke: %v, %v", ok, err)
	}
	before := time.Now()
	if err := c.Revoke(ctx, "jti.ABC", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	at, ok, err := c.RevokedAt(ctx, "jti.ABC")
	if err != nil || !ok {
		t.Fatalf("RevokedAt after Revoke: %v, %v", ok, err)
	}
	if at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("revoked at %v, want about %v", at, before)
	}
	if ok, err := c.Revoked(ctx, "jti.ABD"); err != nil || ok {
		t.Errorf("another key is revoked: %v, %v", ok, err)
	}

	// Revoking again replaces the value (a user revoked twice moves its cutoff).
	if err := c.Revoke(ctx, "jti.ABC", time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Revoke again: %v", err)
	}
	at2, ok, err := c.RevokedAt(ctx, "jti.ABC")
	if err != nil || !ok || at2.Before(at) {
		t.Errorf("after a second Revoke: %v, %v, %v (first at %v)", at2, ok, err, at)
	}

	// A time already past stores nothing.
	if err := c.Revoke(ctx, "user.gone", time.Now().Add(-time.Minute)); err != nil {
		t.Fatalf("Revoke in the past: %v", err)
	}
	if ok, err := c.Revoked(ctx, "user.gone"); err != nil || ok {
		t.Errorf("a key revoked until the past is revoked: %v, %v", ok, err)
	}

	// Each key has its own TTL (LimitMarkerTTL on the bucket allows it).
	kv, err := c.JS().KeyValue(ctx, BucketRevoked)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LimitMarkerTTL() <= 0 {
		t.Errorf("bucket LimitMarkerTTL %v: per-key TTLs are off", st.LimitMarkerTTL())
	}

	for _, bad := range []string{"", "a b", "a.*", "a.>", ".a", "a.", "a..b", string(make([]byte, 129))} {
		if err := c.Revoke(ctx, bad, time.Now().Add(time.Hour)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Revoke(%q): %v, want ErrInvalid", bad, err)
		}
		if _, err := c.Revoked(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Revoked(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

// TestDenylistExpiry: a key vanishes when its TTL ends. The wait is bounded;
// nothing asserts how soon the server removes it.
func TestDenylistExpiry(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	if err := c.Revoke(ctx, "jti.short", time.Now().Add(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	kv, err := c.JS().KeyValue(ctx, BucketRevoked)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := kv.Get(ctx, "jti.short"); err != nil {
			break // expired and removed by the server
		}
		select {
		case <-ctx.Done():
			t.Fatal("the key outlived its TTL past the test timeout")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if ok, err := c.Revoked(ctx, "jti.short"); err != nil || ok {
		t.Errorf("expired key: %v, %v", ok, err)
	}
}
