package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memSource is an in-memory Source: a queue of deliveries that records every
// Fetch, Ack and Nak. A Nak puts the delivery back at once (the delay is
// recorded, not honoured, so tests do not wait on it), unless maxDeliver is
// reached, when it is dead-lettered as JetStream would stop redelivering.
type memSource struct {
	poll time.Duration // how long Fetch waits for a first delivery
	wake chan struct{}

	mu sync.Mutex
	// size, when set, is the pool size Fetch checks backpressure against:
	// every unsettled delivery occupies an actor, so Fetch may never be
	// asked for more than size minus unsettled.
	size         int
	maxDeliver   int
	queue        []*memDelivery
	acked        int
	onCancel     []*memDelivery // returned by a Fetch whose ctx ends, as if they arrived just then
	fetching     int            // Fetch calls waiting for deliveries
	unsettled    int
	maxUnsettled int
	maxAsked     int
	violations   []string
	dead         []*memDelivery
	fetches      int
}

func newMemSource() *memSource {
	return &memSource{poll: 20 * time.Millisecond, wake: make(chan struct{}, 1)}
}

// memDelivery is one message of a memSource.
type memDelivery struct {
	src  *memSource
	data string

	// guarded by src.mu
	deliveries int
	acks       int
	naks       []time.Duration
}

func (d *memDelivery) Data() []byte { return []byte(d.data) }

func (d *memDelivery) Ack() error {
	s := d.src
	s.mu.Lock()
	defer s.mu.Unlock()
	d.acks++
	s.acked++
	s.unsettled--
	return nil
}

func (d *memDelivery) Nak(delay time.Duration) error {
	s := d.src
	s.mu.Lock()
	d.naks = append(d.naks, delay)
	s.unsettled--
	if s.maxDeliver > 0 && d.deliveries >= s.maxDeliver {
		s.dead = append(s.dead, d)
		s.mu.Unlock()
		return nil
	}
	s.queue = append(s.queue, d)
	s.mu.Unlock()
	s.signal()
	return nil
}

func (d *memDelivery) InProgress() error { return nil }

// push enqueues one delivery per datum and returns them.
func (s *memSource) push(data ...string) []*memDelivery {
	s.mu.Lock()
	out := make([]*memDelivery, len(data))
	for i, v := range data {
		out[i] = &memDelivery{src: s, data: v}
	}
	s.queue = append(s.queue, out...)
	s.mu.Unlock()
	s.signal()
	return out
}

func (s *memSource) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *memSource) Fetch(ctx context.Context, limit int) ([]Delivery, error) {
	s.mu.Lock()
	s.fetches++
	if limit < 1 {
		s.violations = append(s.violations, fmt.Sprintf("fetch asked for %d deliveries", limit))
	}
	if s.size > 0 && s.unsettled+limit > s.size {
		s.violations = append(s.violations,
			fmt.Sprintf("fetch asked for %d with %d unsettled in a pool of %d", limit, s.unsettled, s.size))
	}
	s.maxAsked = max(s.maxAsked, limit)
	s.mu.Unlock()

	timer := time.NewTimer(s.poll)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			out := s.take(&s.queue, limit)
			s.mu.Unlock()
			return out, nil
		}
		s.fetching++
		s.mu.Unlock()
		select {
		case <-s.wake:
			s.read(func() { s.fetching-- })
		case <-timer.C:
			s.read(func() { s.fetching-- })
			return nil, nil
		case <-ctx.Done():
			var late []Delivery
			s.read(func() {
				s.fetching--
				late = s.take(&s.onCancel, limit)
			})
			if len(late) > 0 {
				return late, nil
			}
			return nil, ctx.Err()
		}
	}
}

// take removes up to limit deliveries from q and counts them as delivered.
// The caller holds s.mu.
func (s *memSource) take(q *[]*memDelivery, limit int) []Delivery {
	n := min(limit, len(*q))
	out := make([]Delivery, n)
	for i, d := range (*q)[:n] {
		d.deliveries++
		out[i] = d
	}
	*q = (*q)[n:]
	s.unsettled += n
	s.maxUnsettled = max(s.maxUnsettled, s.unsettled)
	return out
}

// read calls f with the source locked, for assertions on its records.
func (s *memSource) read(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// workerEnv is shared by every testWorker of one pool, and counts their
// lifecycle calls.
type workerEnv struct {
	made, started, stopped atomic.Int64
	// startErr, when set, is Start's result for the worker with that id
	// (1-based, in NewWorker order).
	startErr func(id int64) error
	// handle, when set, is Handle's body; the default acks.
	handle func(ctx context.Context, w *testWorker, d Delivery)
}

func (e *workerEnv) newWorker() Worker {
	return &testWorker{env: e, id: e.made.Add(1)}
}

type testWorker struct {
	env *workerEnv
	id  int64
}

func (w *testWorker) Start(context.Context) error {
	w.env.started.Add(1)
	if w.env.startErr != nil {
		return w.env.startErr(w.id)
	}
	return nil
}

func (w *testWorker) Handle(ctx context.Context, d Delivery) {
	if w.env.handle != nil {
		w.env.handle(ctx, w, d)
		return
	}
	_ = d.Ack()
}

func (w *testWorker) Stop(context.Context) { w.env.stopped.Add(1) }

// testLogger shows the pool's records in verbose runs only.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testPool is what startTestPool returns.
type testPool struct {
	sup  *Supervisor
	pool *Pool
	src  *memSource
	env  *workerEnv
}

// startTestPool starts a pool with cfg, filling in a memSource, a workerEnv
// and small backoffs where cfg leaves them zero. The Supervisor is shut down
// when the test ends.
func startTestPool(t testing.TB, cfg PoolConfig, opts ...Option) testPool {
	t.Helper()
	tp := testPool{src: newMemSource(), env: &workerEnv{}}
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	if cfg.Size == 0 {
		cfg.Size = 1
	}
	if cfg.Source == nil {
		cfg.Source = tp.src
	}
	if cfg.NewWorker == nil {
		cfg.NewWorker = tp.env.newWorker
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond}
	}
	tp.sup = New(testLogger(t), opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tp.sup.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	p, err := tp.sup.StartPool(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start pool: %v", err)
	}
	tp.pool = p
	return tp
}

// eventually polls cond until it holds, failing the test after timeout.
// Tests use it only as a bounded wait, never to assert a duration.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}
