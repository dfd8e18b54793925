package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Supervisor owns one protoactor-go actor system and the pools running in it.
// cmd makes one per process with New and calls Shutdown on the way out.
type Supervisor struct {
	log *slog.Logger
	sys *actor.ActorSystem
	// random draws jitter; tests replace it to make delays predictable.
	random func() float64

	mu     sync.Mutex
	pools  map[string]*Pool
	closed bool

	sysDown sync.Once
}

// Option configures a Supervisor.
type Option func(*options)

type options struct {
	actorLogLevel slog.Level
	random        func() float64
}

// WithActorLogLevel sets the lowest level of protoactor-go's own log records
// that reach the Supervisor's logger. The default, slog.LevelError, keeps out
// its Info records (every failure, dead letter and supervision decision),
// which the pools already log with more context.
func WithActorLogLevel(level slog.Level) Option {
	return func(o *options) { o.actorLogLevel = level }
}

// withRandom replaces the jitter source, for tests.
func withRandom(f func() float64) Option {
	return func(o *options) { o.random = f }
}

// New returns a Supervisor logging to logger (nil discards), with its own
// actor system.
func New(logger *slog.Logger, opts ...Option) *Supervisor {
	o := options{actorLogLevel: slog.LevelError, random: rand.Float64}
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	actorLog := slog.New(&levelFilter{min: o.actorLogLevel, next: logger.Handler()}).
		With("lib", "protoactor")
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return actorLog
	}))
	return &Supervisor{
		log:    logger,
		sys:    sys,
		random: o.random,
		pools:  make(map[string]*Pool),
	}
}

// StartPool starts a pool of cfg.Size worker actors fed from cfg.Source, and
// returns once it is spawned; the workers start in the background (a Start
// error is a failure, retried with backoff, not an error of StartPool).
//
// The pool runs until Stop or Shutdown. ctx's values are passed on to
// Worker.Start, Worker.Handle and Source.Fetch, but its cancellation is not:
// stopping, and draining in-flight work, is Stop's job.
//
// Errors: ErrInvalidConfig (wrapped, naming each bad field), ErrPoolExists,
// ErrClosed.
func (s *Supervisor) StartPool(ctx context.Context, cfg PoolConfig) (*Pool, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("supervisor: start pool %q: %w", cfg.Name, err)
	}
	cfg = cfg.withDefaults(s.log)
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if _, ok := s.pools[cfg.Name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrPoolExists, cfg.Name)
	}
	p := newPool(ctx, s, cfg, s.random)
	if err := p.start(); err != nil {
		return nil, err
	}
	s.pools[cfg.Name] = p
	return p, nil
}

// Shutdown stops every pool, concurrently and each as Pool.Stop does, then
// the actor system. If ctx ends first it returns each pool's error (wrapping
// ctx's); the pools have been told to stop regardless, and calling Shutdown
// again waits for them again. StartPool fails with ErrClosed afterwards.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	pools := make([]*Pool, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p)
	}
	s.mu.Unlock()

	errs := make([]error, len(pools))
	var wg sync.WaitGroup
	for i, p := range pools {
		wg.Go(func() { errs[i] = p.Stop(ctx) })
	}
	wg.Wait()
	s.sysDown.Do(s.sys.Shutdown)
	return errors.Join(errs...)
}

// forget drops a stopped pool, so that its name may be used again.
func (s *Supervisor) forget(p *Pool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pools[p.cfg.Name] == p {
		delete(s.pools, p.cfg.Name)
	}
}

// levelFilter passes on the records at or above min: protoactor-go logs
// through slog at a level we do not control, so we filter what reaches ours.
type levelFilter struct {
	min  slog.Level
	next slog.Handler
}

func (h *levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.next.Enabled(ctx, l)
}

func (h *levelFilter) Handle(ctx context.Context, r slog.Record) error {
	return h.next.Handle(ctx, r)
}

func (h *levelFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &levelFilter{min: h.min, next: h.next.WithAttrs(attrs)}
}

func (h *levelFilter) WithGroup(name string) slog.Handler {
	return &levelFilter{min: h.min, next: h.next.WithGroup(name)}
}
