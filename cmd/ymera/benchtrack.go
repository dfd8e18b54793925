package main

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// benchTracker pairs submissions with completions and measures the time
// between them. A completion may be seen before its submission is known (the
// event can beat the 201 or the PubAck), so those wait in early.
//
// In process the tracker shares the heap with the system it measures, and a
// run that publishes faster than the agents finish (--via nats) holds
// hundreds of thousands of tasks in it at once. The maps that grow with
// them therefore hold nothing the garbage collector must follow: ids are
// kept as their UUID's 16 bytes (a YMERA id; anything else, such as
// River's integer ids, is kept as a string in a map of its own) and times
// as nanoseconds since the tracker began. Kept as strings and time.Time values, 400,000 pending
// tasks were 40 MB of pointers for each collection to trace, against a soft
// memory limit the system's own caches already press on.
type benchTracker struct {
	mu        sync.Mutex
	epoch     time.Time
	submitted idMap[int64] // nanoseconds since epoch
	early     idMap[int64]
	latencies []time.Duration
	// requests are the submissions' own durations (POST /tasks to its
	// 201, or publish to PubAck), the "HTTP p99" of issue 6's targets.
	requests []time.Duration
	lastDone time.Time
	// target is how many completions end the run; -1 while submissions are
	// still going, because a --duration run does not know it in advance.
	target int
	done   chan struct{}
	once   sync.Once
	// waiters are the submitters waiting for their own task (wait).
	waiters idMap[chan struct{}]
}

func newBenchTracker(sizeHint int) *benchTracker {
	return &benchTracker{
		epoch:     time.Now(),
		submitted: newIDMap[int64](sizeHint),
		early:     newIDMap[int64](0),
		latencies: make([]time.Duration, 0, sizeHint),
		target:    -1,
		done:      make(chan struct{}),
		waiters:   newIDMap[chan struct{}](0),
	}
}

// idMap maps task ids to V, keeping a UUID without a string for the
// collector to follow (see benchTracker).
type idMap[V any] struct {
	uuids  map[uuid.UUID]V
	others map[string]V
}

func newIDMap[V any](sizeHint int) idMap[V] {
	return idMap[V]{uuids: make(map[uuid.UUID]V, sizeHint), others: map[string]V{}}
}

// trackKey is a task id read once for the idMaps it is looked up in.
type trackKey struct {
	uuid   uuid.UUID
	isUUID bool
	id     string // the id as given, for one that is not a UUID
}

// keyOf reads id as a UUID in its 36-character form (the form a YMERA id
// has); the other forms uuid.Parse takes are kept as strings. Hex digits
// differing only in case name the same UUID, as RFC 9562 has it.
func keyOf(id string) trackKey {
	if len(id) == 36 {
		if u, err := uuid.Parse(id); err == nil {
			return trackKey{uuid: u, isUUID: true}
		}
	}
	return trackKey{id: id}
}

func (m idMap[V]) get(k trackKey) (V, bool) {
	if k.isUUID {
		v, ok := m.uuids[k.uuid]
		return v, ok
	}
	v, ok := m.others[k.id]
	return v, ok
}

func (m idMap[V]) set(k trackKey, v V) {
	if k.isUUID {
		m.uuids[k.uuid] = v
	} else {
		m.others[k.id] = v
	}
}

func (m idMap[V]) remove(k trackKey) {
	if k.isUUID {
		delete(m.uuids, k.uuid)
	} else {
		delete(m.others, k.id)
	}
}

// submitted records that id was accepted after being sent at t0.
func (b *benchTracker) submit(id string, t0 time.Time) {
	took := time.Since(t0)
	k := keyOf(id)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests = append(b.requests, took)
	if at, ok := b.early.get(k); ok {
		b.early.remove(k)
		b.record(b.at(at).Sub(t0), b.at(at))
		return
	}
	b.submitted.set(k, int64(t0.Sub(b.epoch)))
}

// finish records that id reached a final status at at.
func (b *benchTracker) finish(id string, at time.Time) {
	k := keyOf(id)
	b.mu.Lock()
	defer b.mu.Unlock()
	t0, ok := b.submitted.get(k)
	if !ok {
		b.early.set(k, int64(at.Sub(b.epoch)))
		return
	}
	b.submitted.remove(k)
	b.record(at.Sub(b.at(t0)), at)
	if ch, ok := b.waiters.get(k); ok {
		b.waiters.remove(k)
		close(ch)
	}
}

// at is the time ns after the tracker's epoch.
func (b *benchTracker) at(ns int64) time.Time { return b.epoch.Add(time.Duration(ns)) }

// wait returns once id, already submitted, has completed, or ctx ends, or
// after waitLimit: a completion event can be lost (core NATS), and the run
// goes on rather than stalls; the task still counts when it completes.
func (b *benchTracker) wait(ctx context.Context, id string) {
	k := keyOf(id)
	b.mu.Lock()
	if _, pending := b.submitted.get(k); !pending {
		b.mu.Unlock() // its completion came with or before its submission
		return
	}
	ch := make(chan struct{})
	b.waiters.set(k, ch)
	b.mu.Unlock()
	t := time.NewTimer(waitLimit)
	defer t.Stop()
	select {
	case <-ch:
	case <-ctx.Done():
	case <-t.C:
	}
}

// waitLimit bounds one wait of a --closed-loop client.
const waitLimit = 30 * time.Second

// seal says no more submissions will come: the run ends when n completed.
func (b *benchTracker) seal(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.target = n
	b.check()
}

func (b *benchTracker) record(d time.Duration, at time.Time) {
	b.latencies = append(b.latencies, d)
	if at.After(b.lastDone) {
		b.lastDone = at
	}
	b.check()
}

func (b *benchTracker) check() {
	if b.target >= 0 && len(b.latencies) >= b.target {
		b.once.Do(func() { close(b.done) })
	}
}

// results returns the number completed, the time of the last completion,
// the latency percentiles p50, p95 and p99 (submit to completed), and the
// same percentiles of the submissions' own durations.
func (b *benchTracker) results() (n int, last time.Time, p, req [3]time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.latencies), b.lastDone, percentiles(b.latencies), percentiles(b.requests)
}

func percentiles(d []time.Duration) (p [3]time.Duration) {
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	for i, q := range []float64{0.50, 0.95, 0.99} {
		p[i] = percentile(sorted, q)
	}
	return p
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
