package main

import (
	"context"
	"slices"
	"sync"
	"time"
)

// benchTracker pairs submissions with completions and measures the time
// between them. A completion may be seen before its submission is known (the
// event can beat the 201 or the PubAck), so those wait in early.
type benchTracker struct {
	mu        sync.Mutex
	submitted map[string]time.Time
	early     map[string]time.Time
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
	waiters map[string]chan struct{}
}

func newBenchTracker(sizeHint int) *benchTracker {
	return &benchTracker{
		submitted: make(map[string]time.Time, sizeHint),
		early:     make(map[string]time.Time),
		latencies: make([]time.Duration, 0, sizeHint),
		target:    -1,
		done:      make(chan struct{}),
		waiters:   make(map[string]chan struct{}),
	}
}

// submitted records that id was accepted after being sent at t0.
func (b *benchTracker) submit(id string, t0 time.Time) {
	took := time.Since(t0)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests = append(b.requests, took)
	if at, ok := b.early[id]; ok {
		delete(b.early, id)
		b.record(at.Sub(t0), at)
		return
	}
	b.submitted[id] = t0
}

// finish records that id reached a final status at at.
func (b *benchTracker) finish(id string, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t0, ok := b.submitted[id]
	if !ok {
		b.early[id] = at
		return
	}
	delete(b.submitted, id)
	b.record(at.Sub(t0), at)
	if ch, ok := b.waiters[id]; ok {
		delete(b.waiters, id)
		close(ch)
	}
}

// wait returns once id, already submitted, has completed, or ctx ends, or
// after waitLimit: a completion event can be lost (core NATS), and the run
// goes on rather than stalls; the task still counts when it completes.
func (b *benchTracker) wait(ctx context.Context, id string) {
	b.mu.Lock()
	if _, pending := b.submitted[id]; !pending {
		b.mu.Unlock() // its completion came with or before its submission
		return
	}
	ch := make(chan struct{})
	b.waiters[id] = ch
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
