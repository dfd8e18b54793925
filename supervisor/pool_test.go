package supervisor

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestPoolBackpressure(t *testing.T) {
	t.Parallel()
	const size = 3
	tp := startTestPool(t, PoolConfig{Size: size})
	tp.src.read(func() { tp.src.size = size })
	var running, maxRunning atomic.Int64
	tp.env.handle = func(ctx context.Context, _ *testWorker, d Delivery) {
		n := running.Add(1)
		for m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n); m = maxRunning.Load() {
		}
		sleep(ctx, 2*time.Millisecond) // slow enough that every actor is busy at times
		running.Add(-1)
		_ = d.Ack()
	}
	ds := make([]string, 60)
	for i := range ds {
		ds[i] = "task"
	}
	tp.src.push(ds...)

	eventually(t, 10*time.Second, "every delivery acked", func() bool {
		var acked int
		tp.src.read(func() { acked = tp.src.acked })
		return acked == len(ds)
	})
	tp.src.read(func() {
		for _, v := range tp.src.violations {
			t.Error(v)
		}
		if tp.src.maxAsked > size {
			t.Errorf("fetch asked for up to %d, pool size %d", tp.src.maxAsked, size)
		}
		if tp.src.maxUnsettled > size {
			t.Errorf("%d deliveries unsettled at once, pool size %d", tp.src.maxUnsettled, size)
		}
	})
	if m := maxRunning.Load(); m > size {
		t.Errorf("%d Handle calls at once, pool size %d", m, size)
	}
	eventually(t, 5*time.Second, "all actors idle", func() bool {
		s := tp.pool.Stats()
		return s.Idle == size && s.Busy == 0
	})
	if s := tp.pool.Stats(); s.Size != size || s.Restarts != 0 || s.Degraded {
		t.Errorf("stats %+v", s)
	}
}

func TestPoolPanicNaksOnceAndRestarts(t *testing.T) {
	t.Parallel()
	// In a synctest bubble the restart delay is exact and observable: the
	// fake clock only moves when every goroutine is blocked.
	synctest.Test(t, func(t *testing.T) {
		var failures errorLog
		var restarts atomic.Int64
		tp := startTestPool(t, PoolConfig{
			Backoff: Backoff{Initial: 100 * time.Millisecond, Max: time.Second},
			Hooks: Hooks{
				OnFailure: func(_ string, err error) { failures.add(err) },
				OnRestart: func(string) { restarts.Add(1) },
			},
		}, withRandom(func() float64 { return 1 }))
		var crashed atomic.Bool
		tp.env.handle = func(_ context.Context, _ *testWorker, d Delivery) {
			if string(d.Data()) == "boom" && crashed.CompareAndSwap(false, true) {
				panic("boom")
			}
			_ = d.Ack()
		}
		synctest.Wait() // the actor has started and waits in Fetch
		boom := tp.src.push("boom")[0]

		time.Sleep(50 * time.Millisecond) // half way through the backoff
		synctest.Wait()
		tp.src.read(func() {
			if len(boom.naks) != 1 || boom.naks[0] != 100*time.Millisecond || boom.acks != 0 {
				t.Errorf("during the backoff: naks %v acks %d, want one nak of 100ms", boom.naks, boom.acks)
			}
		})
		if s := tp.pool.Stats(); s.Idle != 0 || s.Busy != 0 || s.Restarts != 1 {
			t.Errorf("during the backoff: stats %+v, want the actor neither idle nor busy, 1 restart", s)
		}
		if got := tp.env.started.Load(); got != 1 {
			t.Errorf("restarted before the backoff ran out: %d starts", got)
		}

		time.Sleep(time.Second)
		synctest.Wait()
		tp.src.read(func() {
			if boom.deliveries != 2 || boom.acks != 1 || len(boom.naks) != 1 {
				t.Errorf("after the restart: deliveries %d acks %d naks %v, want 2, 1, one nak",
					boom.deliveries, boom.acks, boom.naks)
			}
		})
		if made, started, stopped := tp.env.made.Load(), tp.env.started.Load(), tp.env.stopped.Load(); made != 2 || started != 2 || stopped != 1 {
			t.Errorf("workers made %d started %d stopped %d, want 2, 2, 1 (the crashed one)", made, started, stopped)
		}
		if s := tp.pool.Stats(); s.Idle != 1 || s.Busy != 0 || s.Restarts != 1 || s.Degraded {
			t.Errorf("after the restart: stats %+v", s)
		}
		errs := failures.all()
		if restarts.Load() != 1 || len(errs) != 1 {
			t.Fatalf("hooks: %d restarts, failures %v; want 1 and 1", restarts.Load(), errs)
		}
		var pe *PanicError
		if !errors.As(errs[0], &pe) || pe.Value != "boom" || !strings.Contains(string(pe.Stack), "testWorker") {
			t.Errorf("failure reported as %v, want a *PanicError with the worker's stack", errs[0])
		}
	})
}

func TestPoolRestartBudgetDegradesThenRecovers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var replaced atomic.Int64
		var statsAtReplace atomic.Pointer[PoolStats]
		var pool atomic.Pointer[Pool]
		tp := startTestPool(t, PoolConfig{
			Size:        2,
			Backoff:     Backoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second},
			MaxRestarts: 2,
			Window:      time.Minute,
			Hooks: Hooks{OnReplace: func(string) {
				replaced.Add(1)
				s := pool.Load().Stats()
				statsAtReplace.Store(&s)
			}},
		}, withRandom(func() float64 { return 1 }))
		pool.Store(tp.pool)
		tp.src.read(func() { tp.src.maxDeliver = 3 }) // JetStream's MaxDeliver: the poison stops coming back
		// One actor is kept busy, so the poison always lands on the other.
		release := make(chan struct{})
		tp.env.handle = func(_ context.Context, _ *testWorker, d Delivery) {
			switch string(d.Data()) {
			case "poison":
				panic("poison")
			case "hold":
				<-release
			}
			_ = d.Ack()
		}
		hold := tp.src.push("hold")[0]
		synctest.Wait()
		poison := tp.src.push("poison")[0]

		// Failures at 0, +100ms, +200ms: the third exceeds the budget of 2.
		time.Sleep(time.Second)
		synctest.Wait()
		if replaced.Load() != 1 {
			t.Fatalf("%d replacements, want 1", replaced.Load())
		}
		if s := statsAtReplace.Load(); !s.Degraded || s.Down != 1 {
			t.Errorf("stats when replaced %+v, want degraded with one actor down", s)
		}
		if s := tp.pool.Stats(); !s.Degraded || s.Down != 1 || s.Restarts != 3 {
			t.Errorf("while down: stats %+v, want degraded, 1 down, 3 restarts", s)
		}
		tp.src.read(func() {
			if poison.deliveries != 3 || len(poison.naks) != 3 || len(tp.src.dead) != 1 {
				t.Errorf("poison delivered %d times, naks %v, dead %d; want 3, 3, 1",
					poison.deliveries, poison.naks, len(tp.src.dead))
			}
		})
		close(release)

		// The replacement comes after Max.
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if s := tp.pool.Stats(); s.Degraded || s.Down != 0 || s.Idle != 2 {
			t.Errorf("after the replacement: stats %+v, want two idle actors, not degraded", s)
		}
		ok := tp.src.push("ok", "ok")
		synctest.Wait()
		tp.src.read(func() {
			if hold.acks != 1 || ok[0].acks != 1 || ok[1].acks != 1 {
				t.Errorf("acks after recovery: hold %d, ok %d and %d; want 1 each", hold.acks, ok[0].acks, ok[1].acks)
			}
		})
		// Two first workers, two restarts, one replacement.
		if made, stopped := tp.env.made.Load(), tp.env.stopped.Load(); made != 5 || stopped != 3 {
			t.Errorf("workers made %d stopped %d, want 5 and 3", made, stopped)
		}
	})
}

func TestPoolRestartsWorkerWhoseStartFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var failures errorLog
		errInit := errors.New("no connection")
		env := &workerEnv{startErr: func(id int64) error {
			if id < 3 {
				return errInit
			}
			return nil
		}}
		tp := startTestPool(t, PoolConfig{
			NewWorker: env.newWorker,
			Backoff:   Backoff{Initial: 100 * time.Millisecond, Max: time.Second},
			Hooks:     Hooks{OnFailure: func(_ string, err error) { failures.add(err) }},
		}, withRandom(func() float64 { return 1 }))

		// Start fails at 0 and +100ms; the third worker starts at +300ms.
		time.Sleep(250 * time.Millisecond)
		synctest.Wait()
		if s := tp.pool.Stats(); s.Idle != 0 || s.Restarts != 2 {
			t.Errorf("during the second backoff: stats %+v, want no idle actor, 2 restarts", s)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if s := tp.pool.Stats(); s.Idle != 1 || s.Restarts != 2 {
			t.Errorf("after the backoff: stats %+v, want the third worker idle", s)
		}
		// A worker whose Start failed is not stopped: it never started.
		if made, started, stopped := env.made.Load(), env.started.Load(), env.stopped.Load(); made != 3 || started != 3 || stopped != 0 {
			t.Errorf("workers made %d started %d stopped %d, want 3, 3, 0", made, started, stopped)
		}
		errs := failures.all()
		if len(errs) != 2 || !errors.Is(errs[1], errInit) {
			t.Errorf("failures %v, want two wrapping the start error", errs)
		}
		d := tp.src.push("x")[0]
		synctest.Wait()
		tp.src.read(func() {
			if d.acks != 1 {
				t.Errorf("delivery acked %d times, want 1", d.acks)
			}
		})
	})
}

func TestPoolStopDrainsInFlightWork(t *testing.T) {
	t.Parallel()
	tp := startTestPool(t, PoolConfig{Size: 2})
	entered, gate := make(chan struct{}), make(chan struct{})
	var handleCtxErr atomic.Value
	var finished atomic.Bool
	tp.env.handle = func(ctx context.Context, _ *testWorker, d Delivery) {
		close(entered)
		<-gate
		if err := ctx.Err(); err != nil {
			handleCtxErr.Store(err)
		}
		_ = d.Ack()
		finished.Store(true)
	}
	slow := tp.src.push("slow")[0]
	<-entered
	// The other actor is idle, so the dispatcher is in Fetch; a delivery
	// arrives just as the pool stops fetching.
	late := &memDelivery{src: tp.src, data: "late"}
	tp.src.read(func() { tp.src.onCancel = append(tp.src.onCancel, late) })
	eventually(t, 5*time.Second, "the dispatcher fetching", func() bool {
		var fetching int
		tp.src.read(func() { fetching = tp.src.fetching })
		return fetching == 1
	})

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- tp.pool.Stop(ctx)
	}()
	eventually(t, 5*time.Second, "the late delivery handed back", func() bool {
		var naks []time.Duration
		tp.src.read(func() { naks = late.naks })
		return len(naks) == 1
	})
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a Handle was running", err)
	default:
	}
	if n := tp.env.stopped.Load(); n != 0 {
		t.Fatalf("%d workers stopped while a Handle was running", n)
	}
	close(gate)
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !finished.Load() {
		t.Error("Stop returned before the in-flight Handle")
	}
	if err := handleCtxErr.Load(); err != nil {
		t.Errorf("Handle's context ended during a graceful stop: %v", err)
	}
	tp.src.read(func() {
		if slow.acks != 1 || len(slow.naks) != 0 {
			t.Errorf("in-flight delivery: acks %d naks %v, want acked", slow.acks, slow.naks)
		}
		if late.acks != 0 || len(late.naks) != 1 || late.naks[0] != 0 {
			t.Errorf("late delivery: acks %d naks %v, want one nak without delay", late.acks, late.naks)
		}
	})
	if n := tp.env.stopped.Load(); n != 2 {
		t.Errorf("Worker.Stop called %d times, want 2", n)
	}
	if s := tp.pool.Stats(); s.Busy != 0 {
		t.Errorf("stats after stop %+v", s)
	}
	if err := tp.pool.Stop(context.Background()); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestPoolStopGivesUpWhenContextEnds(t *testing.T) {
	t.Parallel()
	tp := startTestPool(t, PoolConfig{})
	entered, cancelled := make(chan struct{}), make(chan struct{})
	tp.env.handle = func(ctx context.Context, _ *testWorker, d Delivery) {
		close(entered)
		<-ctx.Done() // a worker that only stops when told to
		close(cancelled)
		_ = d.Nak(0)
	}
	d := tp.src.push("stuck")[0]
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := tp.pool.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v, want the deadline error", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("Handle's context not cancelled once Stop gave up")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := tp.pool.Stop(ctx2); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if n := tp.env.stopped.Load(); n != 1 {
		t.Errorf("Worker.Stop called %d times, want 1", n)
	}
	tp.src.read(func() {
		if len(d.naks) != 1 {
			t.Errorf("naks %v, want the worker's one", d.naks)
		}
	})
}

func TestStartPoolRejectsBadConfig(t *testing.T) {
	t.Parallel()
	sup := New(nil)
	t.Cleanup(func() { _ = sup.Shutdown(context.Background()) })
	src, env := newMemSource(), &workerEnv{}
	good := PoolConfig{Name: "good", Size: 1, Source: src, NewWorker: env.newWorker}
	tests := []struct {
		name   string
		modify func(*PoolConfig)
		want   string
	}{
		{"no name", func(c *PoolConfig) { c.Name = "" }, "name is required"},
		{"slash in name", func(c *PoolConfig) { c.Name = "a/b" }, "may not contain"},
		{"zero size", func(c *PoolConfig) { c.Size = 0 }, "size must be at least 1, got 0"},
		{"no source", func(c *PoolConfig) { c.Source = nil }, "source is required"},
		{"no worker", func(c *PoolConfig) { c.NewWorker = nil }, "NewWorker is required"},
		{"max below initial", func(c *PoolConfig) { c.Backoff = Backoff{Initial: time.Second, Max: time.Millisecond} }, "must not be below initial"},
		{"shrinking", func(c *PoolConfig) { c.Backoff.Multiplier = 0.5 }, "multiplier"},
		{"negative budget", func(c *PoolConfig) { c.MaxRestarts = -1 }, "max restarts"},
		{"negative window", func(c *PoolConfig) { c.Window = -time.Second }, "window"},
		{"several", func(c *PoolConfig) { c.Size, c.Source = -1, nil }, "size must be at least 1, got -1; source is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.modify(&cfg)
			_, err := sup.StartPool(context.Background(), cfg)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidConfig saying %q", err, tt.want)
			}
		})
	}

	if _, err := sup.StartPool(context.Background(), good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if _, err := sup.StartPool(context.Background(), good); !errors.Is(err, ErrPoolExists) {
		t.Errorf("same name twice: %v, want ErrPoolExists", err)
	}
	if err := sup.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := sup.StartPool(context.Background(), good); !errors.Is(err, ErrClosed) {
		t.Errorf("after shutdown: %v, want ErrClosed", err)
	}
}

func TestStoppedPoolNameCanBeReused(t *testing.T) {
	t.Parallel()
	tp := startTestPool(t, PoolConfig{Name: "again"})
	if err := tp.pool.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, err := tp.sup.StartPool(context.Background(), PoolConfig{
		Name: "again", Size: 1, Source: tp.src, NewWorker: tp.env.newWorker,
	})
	if err != nil {
		t.Fatalf("restart under the same name: %v", err)
	}
	d := tp.src.push("x")[0]
	eventually(t, 5*time.Second, "the delivery acked", func() bool {
		var acks int
		tp.src.read(func() { acks = d.acks })
		return acks == 1
	})
	_ = p
}

// Not parallel: it counts the process's goroutines, which parallel tests
// would change under it. Go runs it while the parallel tests are paused.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	sup := New(testLogger(t))
	var mu sync.Mutex
	var crashed bool
	env := &workerEnv{handle: func(ctx context.Context, _ *testWorker, d Delivery) {
		mu.Lock()
		first := !crashed
		crashed = true
		mu.Unlock()
		if first {
			panic("crash") // leaves a restart pending for Shutdown to cancel
		}
		sleep(ctx, time.Millisecond)
		_ = d.Ack()
	}}
	srcA, srcB := newMemSource(), newMemSource()
	for _, cfg := range []PoolConfig{
		{Name: "a", Size: 4, Source: srcA, NewWorker: env.newWorker, Backoff: Backoff{Initial: time.Minute}},
		{Name: "b", Size: 4, Source: srcB, NewWorker: env.newWorker},
	} {
		if _, err := sup.StartPool(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	srcA.push("1", "2", "3", "4", "5", "6")
	srcB.push("1", "2", "3", "4", "5", "6")
	eventually(t, 5*time.Second, "the work done", func() bool {
		var a, b int
		srcA.read(func() { a = len(srcA.queue) + srcA.unsettled })
		srcB.read(func() { b = len(srcB.queue) + srcB.unsettled })
		return a == 0 && b == 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sup.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if made, stopped := env.made.Load(), env.stopped.Load(); made != stopped {
		t.Errorf("%d workers made, %d stopped", made, stopped)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after shutdown, %d before:\n%s", runtime.NumGoroutine(), before, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errorLog collects the errors hooks report, from protoactor's goroutines.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// unreliableSource fails its first fetches, then returns more than asked
// once, then behaves.
type unreliableSource struct {
	*memSource
	failures atomic.Int64
	surplus  []*memDelivery
}

func (s *unreliableSource) Fetch(ctx context.Context, limit int) ([]Delivery, error) {
	if s.failures.Add(-1) >= 0 {
		return nil, errors.New("nats: no responders")
	}
	var extra []*memDelivery
	s.read(func() { extra, s.surplus = s.surplus, nil })
	if len(extra) > 0 {
		out := make([]Delivery, len(extra))
		s.read(func() {
			for i, d := range extra {
				d.deliveries++
				out[i] = d
			}
			s.unsettled += len(extra)
		})
		return out, nil
	}
	return s.memSource.Fetch(ctx, limit)
}

func TestPoolSurvivesAMisbehavingSource(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		src := &unreliableSource{memSource: newMemSource()}
		src.failures.Store(3)
		first, extra := &memDelivery{src: src.memSource, data: "a"}, &memDelivery{src: src.memSource, data: "b"}
		src.surplus = []*memDelivery{first, extra}
		env := &workerEnv{}
		tp := startTestPool(t, PoolConfig{
			Source:    src,
			NewWorker: env.newWorker,
			Backoff:   Backoff{Initial: 100 * time.Millisecond, Max: time.Second},
		}, withRandom(func() float64 { return 1 }))

		// Three failed fetches back off 100, 200 and 400ms; then the source
		// returns two deliveries to a pool that asked for one.
		time.Sleep(time.Second)
		synctest.Wait()
		src.read(func() {
			if first.acks != 1 || len(first.naks) != 0 {
				t.Errorf("first delivery: acks %d naks %v, want handled", first.acks, first.naks)
			}
			if len(extra.naks) != 1 || extra.naks[0] != 0 || extra.acks != 1 {
				t.Errorf("surplus delivery: naks %v acks %d, want handed back at once, then handled", extra.naks, extra.acks)
			}
		})
		if env.made.Load() != 1 || tp.pool.Stats().Restarts != 0 {
			t.Errorf("a failing source restarted actors: %+v", tp.pool.Stats())
		}
	})
}
