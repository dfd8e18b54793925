package gateway

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// rateWindowSeconds is the length of the fixed windows requests are counted
// in. Windows are aligned to the wall clock (window n covers Unix seconds
// [60n, 60n+60)), so that replicas agree on them without talking.
const rateWindowSeconds = 60

// rateShards spreads the counters over independent locks, so that requests
// of different clients on different cores do not contend.
const rateShards = 32

// RateStore shares request counters between gateway replicas;
// transport.Conn implements it with the ymera_ratelimit key-value bucket.
type RateStore interface {
	// AddRate adds delta to the counter of id in scope and window and
	// returns the counter's new total over every replica.
	AddRate(ctx context.Context, scope string, window int64, id string, delta int64) (int64, error)
	// WatchRates calls fn with every counter's total, the current ones first
	// and then each time any replica changes one, until ctx ends.
	WatchRates(ctx context.Context, fn func(scope string, window int64, id string, total int64)) error
}

// rateCount is one id's count in one window, as this replica knows it.
type rateCount struct {
	window int64
	// local is what this replica admitted; synced is the part of it the
	// store has; pushing is the part being sent right now.
	local, synced, pushing int64
	// remote is what the other replicas admitted, as last heard.
	remote int64
}

type rateShard struct {
	mu sync.Mutex
	m  map[string]*rateCount
}

// counter counts one scope's requests per id in fixed windows and decides,
// from its own count and the other replicas' last known one, whether
// another request fits under the limit. Deciding never waits for the store:
// syncWith sends the local counts in the background and heard applies the
// totals the store reports.
type counter struct {
	scope  string
	limit  int64
	now    func() time.Time
	seed   maphash.Seed
	shards [rateShards]rateShard
}

func newCounter(scope string, limit int, now func() time.Time) *counter {
	c := &counter{scope: scope, limit: int64(limit), now: now, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*rateCount)
	}
	return c
}

// verdict is the answer to one request: whether it may proceed, and what to
// tell the client in the X-RateLimit headers.
type verdict struct {
	allowed   bool
	limit     int64
	remaining int64
	// reset is how long until the window ends and the count starts over.
	reset time.Duration
}

func (c *counter) shard(id string) *rateShard {
	return &c.shards[maphash.String(c.seed, id)%rateShards]
}

// window returns the number of the window t is in and when it ends.
func window(t time.Time) (int64, time.Time) {
	w := t.Unix() / rateWindowSeconds
	return w, time.Unix((w+1)*rateWindowSeconds, 0)
}

// take counts one request of id if it fits under the limit. A refused
// request is not counted: a client that keeps trying is back once the
// window ends, not later.
func (c *counter) take(id string) verdict {
	now := c.now()
	w, end := window(now)
	sh := c.shard(id)
	sh.mu.Lock()
	rc := sh.m[id]
	switch {
	case rc == nil:
		// The id may point into a buffer Fiber reuses: keep a copy.
		rc = &rateCount{window: w}
		sh.m[strings.Clone(id)] = rc
	case rc.window != w:
		*rc = rateCount{window: w}
	}
	used := rc.local + rc.remote
	ok := used < c.limit
	if ok {
		rc.local++
		used++
	}
	sh.mu.Unlock()
	return verdict{allowed: ok, limit: c.limit, remaining: max(0, c.limit-used), reset: end.Sub(now)}
}

// heard applies a total the store reports for id. The total includes what
// this replica has synced and, perhaps, what it is pushing right now, so the
// others' share is at least total-synced-pushing; counts only grow within a
// window, so a smaller figure than already known is an old one.
func (c *counter) heard(w int64, id string, total int64) {
	cur, _ := window(c.now())
	if w != cur {
		return
	}
	sh := c.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rc := sh.m[id]
	switch {
	case rc == nil:
		rc = &rateCount{window: w}
		sh.m[strings.Clone(id)] = rc
	case rc.window != w:
		*rc = rateCount{window: w}
	}
	rc.remote = max(rc.remote, total-rc.synced-rc.pushing)
}

// ratePush is one id's unsynced count.
type ratePush struct {
	id     string
	window int64
	delta  int64
}

// pending forgets the counts of past windows and returns the counts of the
// current one that the store does not have yet, marking them as being
// pushed.
func (c *counter) pending() []ratePush {
	cur, _ := window(c.now())
	var out []ratePush
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for id, rc := range sh.m {
			if rc.window != cur {
				delete(sh.m, id)
				continue
			}
			if d := rc.local - rc.synced; d > 0 {
				rc.pushing = d
				out = append(out, ratePush{id: id, window: rc.window, delta: d})
			}
		}
		sh.mu.Unlock()
	}
	return out
}

// pushed records the outcome of sending p: on success the store's total,
// on failure nothing, so that the count is sent again next time.
func (c *counter) pushed(p ratePush, total int64, ok bool) {
	sh := c.shard(p.id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rc := sh.m[p.id]
	if rc == nil || rc.window != p.window {
		return
	}
	rc.pushing = 0
	if ok {
		rc.synced += p.delta
		rc.remote = max(rc.remote, total-rc.synced)
	}
}
