package transport

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// twoConns returns the owner of an embedded server listening on TCP, with
// the streams and buckets declared, and a second connection to it: two
// gateway replicas sharing one NATS.
func twoConns(t *testing.T) (owner, other *Conn) {
	t.Helper()
	owner = testConn(t, Options{Listen: "127.0.0.1:0"})
	if err := owner.Setup(testCtx(t), SetupOptions{}); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return owner, testConn(t, Options{URL: owner.ClientURL()})
}

// connectBy connects to url for a test that closes the connection itself
// and checks the result; the cleanup only makes sure it is closed when the
// test stops early.
func connectBy(t *testing.T, url string) *Conn {
	t.Helper()
	c, err := Connect(testCtx(t), Options{URL: url}, testLogger(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = c.Close(ctx)
	})
	return c
}

// runView runs v in the background until the returned stop is called (at
// the latest when the test ends); stop waits for Run and returns its error.
func runView(t *testing.T, v interface{ Run(context.Context) error }) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(testTimeout):
			return errors.New("Run did not return after its context ended")
		}
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return stop
}

// liveView returns a running view of c whose watch has loaded the bucket.
func liveView(t *testing.T, c *Conn) *DenylistView {
	t.Helper()
	v := NewDenylistView(c)
	runView(t, v)
	waitFor(t, v.Live)
	return v
}

// TestDenylistViewFollows: revocations written by another connection, and
// by another view, reach a view through its watch; values are those a
// direct read returns; an undecodable value fails reads as it does there.
func TestDenylistViewFollows(t *testing.T) {
	t.Parallel()
	a, b := twoConns(t)
	ctx := testCtx(t)
	va, vb := liveView(t, a), liveView(t, b)

	if ok, err := vb.Revoked(ctx, "jti.x"); err != nil || ok {
		t.Fatalf("before Revoke: %v, %v", ok, err)
	}
	if err := a.Revoke(ctx, "jti.x", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := va.Revoke(ctx, "user.u1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"jti.x", "user.u1"} {
		waitFor(t, func() bool { ok, err := vb.Revoked(ctx, key); return err == nil && ok })
		want, _, err := b.RevokedAt(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := vb.RevokedAt(ctx, key); !got.Equal(want) {
			t.Errorf("%s revoked at %v in the view, %v in the bucket", key, got, want)
		}
	}
	if !vb.Live() {
		t.Fatal("the view is not live: the answers above were direct reads")
	}

	// Revoking again moves the time, on every view.
	first, _, _ := vb.RevokedAt(ctx, "user.u1")
	if err := a.Revoke(ctx, "user.u1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { at, _, _ := vb.RevokedAt(ctx, "user.u1"); return at.After(first) })

	// A key deleted by hand (an operator undoing a revocation) leaves the view.
	kv, err := a.bucket(ctx, BucketRevoked)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "jti.x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { ok, err := vb.Revoked(ctx, "jti.x"); return err == nil && !ok })

	if _, err := kv.Put(ctx, "jti.bad", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, err := vb.Revoked(ctx, "jti.bad"); return errors.Is(err, ErrInvalid) })

	if _, err := vb.Revoked(ctx, "a b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid key: %v, want ErrInvalid", err)
	}
}

// TestDenylistViewRevokeLocal: a revocation written through a view is
// refused by that view at once, without waiting for the watch.
func TestDenylistViewRevokeLocal(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	v := liveView(t, c)
	for i := range 20 {
		key := "jti.local" + string(rune('a'+i))
		if err := v.Revoke(ctx, key, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ok, err := v.Revoked(ctx, key); err != nil || !ok {
			t.Fatalf("%s right after Revoke: %v, %v", key, ok, err)
		}
	}
	// A time already past stores nothing, and records nothing.
	if err := v.Revoke(ctx, "user.gone", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := v.Revoked(ctx, "user.gone"); err != nil || ok {
		t.Errorf("revoked until the past: %v, %v", ok, err)
	}
	if !v.Live() {
		t.Fatal("the view is not live: the answers above were direct reads")
	}
}

// TestDenylistViewExpiry: a key is not revoked once its time has passed,
// whether or not the server's expiry marker has arrived, and the marker
// removes it from the view.
func TestDenylistViewExpiry(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	v := liveView(t, c)

	// An entry past its time, as the view holds it before the marker.
	v.put("jti.stale", viewedRevocation{at: time.Now().Add(-time.Hour), until: time.Now().Add(-time.Second), rev: 1 << 62})
	if ok, err := v.Revoked(ctx, "jti.stale"); err != nil || ok {
		t.Errorf("entry past its time: %v, %v", ok, err)
	}

	if err := c.Revoke(ctx, "jti.short", time.Now().Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		v.mu.RLock()
		defer v.mu.RUnlock()
		_, held := v.m["jti.short"]
		return !held
	})
	if ok, err := v.Revoked(ctx, "jti.short"); err != nil || ok {
		t.Errorf("expired key: %v, %v", ok, err)
	}
	if !v.Live() {
		t.Error("the view left live mode on an expiry")
	}
}

// TestDenylistViewFallback: before its first load and after NATS goes
// away, a view reads the bucket directly; with NATS gone that is an error,
// never "not revoked". Run ends with ErrClosed when the connection closes.
func TestDenylistViewFallback(t *testing.T) {
	t.Parallel()
	a := testConn(t, Options{Listen: "127.0.0.1:0"})
	if err := a.Setup(testCtx(t), SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	// b outlives a's server, so its Close reports the lost connection.
	b := connectBy(t, a.ClientURL())
	ctx := testCtx(t)

	// Not running yet: direct reads.
	v := NewDenylistView(b)
	if err := a.Revoke(ctx, "jti.early", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v.Live() {
		t.Fatal("live before Run")
	}
	if ok, err := v.Revoked(ctx, "jti.early"); err != nil || !ok {
		t.Fatalf("before the load: %v, %v", ok, err)
	}
	if ok, err := v.Revoked(ctx, "jti.other"); err != nil || ok {
		t.Fatalf("before the load, another key: %v, %v", ok, err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- v.Run(runCtx) }()
	waitFor(t, v.Live)
	if ok, err := v.Revoked(ctx, "jti.early"); err != nil || !ok {
		t.Fatalf("after the load: %v, %v", ok, err)
	}

	// The server goes away: the view stops answering from memory.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !v.Live() })
	for _, key := range []string{"jti.early", "jti.other"} {
		rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := v.Revoked(rctx, key)
		rcancel()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with NATS down: %v, want ErrUnavailable", key, err)
		}
	}

	// The connection closes: Run ends, reads fail.
	closeCtx, closeCancel := context.WithTimeout(ctx, time.Second)
	defer closeCancel()
	_ = b.Close(closeCtx)
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Close: %v, want ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after the connection closed")
	}
	if _, err := v.Revoked(ctx, "jti.early"); err == nil {
		t.Error("read on a closed connection succeeded")
	}
}

// TestDenylistViewRestarts: a view whose server comes back (the same store,
// a new process) goes live again with what the bucket holds then.
func TestDenylistViewRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := testConn(t, Options{Listen: "127.0.0.1:0", DataDir: dir})
	ctx := testCtx(t)
	if err := a.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	addr := a.srv.Addr().String()
	// b outlives a's server and must close before a2's does, so it is not
	// left reconnecting at cleanup: closed by hand after a2 starts.
	b := connectBy(t, a.ClientURL())
	v := NewDenylistView(b)
	stop := runView(t, v)
	waitFor(t, v.Live)
	if err := a.Revoke(ctx, "jti.before", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { ok, err := v.Revoked(ctx, "jti.before"); return err == nil && ok })

	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !v.Live() })
	a2 := testConn(t, Options{Listen: addr, DataDir: dir})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := a2.Revoke(ctx, "jti.during", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, v.Live)
	// jti.during is among the initial values or follows them, depending on
	// whether the view reconnected before it was written.
	for _, key := range []string{"jti.before", "jti.during"} {
		waitFor(t, func() bool { ok, err := v.Revoked(ctx, key); return err == nil && ok })
	}
}
