package gateway

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCounterSync: the counter's bookkeeping of what it admitted, pushed
// and heard from other replicas, without a store.
func TestCounterSync(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_030, 0) // 30 s into a window
	c := newCounter("req_ip", 5, func() time.Time { return now })
	w, _ := window(now)

	for i := range 3 {
		if v := c.take("a"); !v.allowed || v.remaining != int64(4-i) || v.reset != 30*time.Second {
			t.Fatalf("take %d = %+v", i, v)
		}
	}
	p := c.pending()
	if len(p) != 1 || p[0] != (ratePush{id: "a", window: w, delta: 3}) {
		t.Fatalf("pending = %+v", p)
	}
	// The store's echo of our own push arrives before its answer: it must
	// not be taken for another replica's requests.
	c.heard(w, "a", 3)
	c.pushed(p[0], 3, true)
	if v := c.take("a"); !v.allowed || v.remaining != 1 {
		t.Fatalf("after our own echo: %+v, want 1 remaining", v)
	}
	// Another replica admitted 1 more: the budget is spent.
	c.heard(w, "a", 5)
	if v := c.take("a"); v.allowed {
		t.Fatalf("admitted beyond the shared limit: %+v", v)
	}
	// An old total does not lower what is known; another window is ignored.
	c.heard(w, "a", 2)
	c.heard(w-1, "b", 100)
	if v := c.take("a"); v.allowed {
		t.Fatalf("an old total reopened the budget: %+v", v)
	}
	if v := c.take("b"); !v.allowed {
		t.Fatalf("a past window's count limited b: %+v", v)
	}
	// A failed push is sent again.
	p = c.pending()
	for _, q := range p {
		c.pushed(q, 0, false)
	}
	if again := c.pending(); len(again) != len(p) {
		t.Fatalf("after a failed push, pending = %+v, want %+v", again, p)
	}

	// The next window starts over and forgets the last one.
	now = now.Add(time.Minute)
	if v := c.take("a"); !v.allowed || v.remaining != 4 {
		t.Fatalf("next window: %+v", v)
	}
	c.pending()
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n != 1 {
		t.Fatalf("%d ids kept after the window changed, want 1", n)
	}
}

// TestHotPathAllocations: counting a known client and recording a request
// of a route and status seen before allocate nothing.
func TestHotPathAllocations(t *testing.T) {
	c := newCounter("req_user", 1<<40, time.Now)
	c.take("user-1")
	if n := testing.AllocsPerRun(100, func() { c.take("user-1") }); n != 0 {
		t.Errorf("counter.take: %v allocations", n)
	}
	m, err := newHTTPMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rm := m.newRouteMetrics("GET", "/tasks/{task_id}")
	rm.count(200)
	if n := testing.AllocsPerRun(100, func() { rm.count(200); rm.duration.Observe(0.01) }); n != 0 {
		t.Errorf("recording a request: %v allocations", n)
	}
}
