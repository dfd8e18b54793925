package transport

import (
	"context"
	"sync"
	"testing"
)

// TestAddRate: concurrent adds from many goroutines (standing in for
// replicas) all land; a zero delta reads; ids of any shape are keys.
func TestAddRate(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)

	for _, id := range []string{"2001:db8::1", "user.with.dots", "ümlaut name", "a"} {
		if got, err := c.AddRate(ctx, "req_ip", 7, id, 0); err != nil || got != 0 {
			t.Fatalf("read of a new counter %q = %d, %v; want 0", id, got, err)
		}
		if got, err := c.AddRate(ctx, "req_ip", 7, id, 3); err != nil || got != 3 {
			t.Fatalf("AddRate(%q, 3) = %d, %v; want 3", id, got, err)
		}
	}

	const workers, each = 4, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := c.AddRate(ctx, "req_user", 7, "u1", 1); err != nil {
					t.Errorf("AddRate: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, err := c.AddRate(ctx, "req_user", 7, "u1", 0); err != nil || got != workers*each {
		t.Fatalf("total = %d, %v; want %d", got, err, workers*each)
	}
	// Another window is another counter.
	if got, err := c.AddRate(ctx, "req_user", 8, "u1", 0); err != nil || got != 0 {
		t.Fatalf("next window = %d, %v; want 0", got, err)
	}
	if _, err := c.AddRate(ctx, "not a token", 7, "u1", 1); err == nil {
		t.Fatal("a scope with a space was accepted")
	}
}

// TestWatchRates: a watcher sees the existing counters first, then every
// change, decoded back to scope, window and id.
func TestWatchRates(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	if _, err := c.AddRate(ctx, "login_ip", 3, "10.0.0.1", 2); err != nil {
		t.Fatal(err)
	}

	type seen struct {
		scope string
		w     int64
		id    string
		total int64
	}
	got := make(chan seen, 16)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.WatchRates(wctx, func(scope string, w int64, id string, total int64) {
			got <- seen{scope, w, id, total}
		})
	}()
	want := []seen{{"login_ip", 3, "10.0.0.1", 2}, {"login_ip", 3, "10.0.0.1", 7}}
	for i, w := range want {
		if i == 1 {
			if _, err := c.AddRate(ctx, "login_ip", 3, "10.0.0.1", 5); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case s := <-got:
			if s != w {
				t.Fatalf("update %d = %+v, want %+v", i, s, w)
			}
		case <-ctx.Done():
			t.Fatalf("update %d not seen", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("WatchRates after cancel: %v", err)
	}
}
