package breaker

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrCircuitOpen is returned, wrapped with the target's name, by calls a
// breaker refused: open, or half-open with its probe still running.
var ErrCircuitOpen = errors.New("circuit breaker open")

// State is a breaker's position. Its numeric value is the metric's.
type State int

// The three states, in the order of the ymera_circuit_breaker_state gauge.
const (
	Closed   State = 0
	HalfOpen State = 1
	Open     State = 2
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half_open"
	case Open:
		return "open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Defaults of Config, the seed's AGENT_CIRCUIT_BREAKER_* values.
const (
	DefaultThreshold = 5
	DefaultTimeout   = 60 * time.Second
)

// Config tunes a breaker; zero fields take the defaults.
type Config struct {
	// Threshold is the number of consecutive failures that opens it.
	Threshold int
	// Timeout is how long it stays open before letting a probe through.
	Timeout time.Duration
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Threshold <= 0 {
		c.Threshold = DefaultThreshold
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Breaker guards one target. It is safe for concurrent use.
type Breaker struct {
	target   string
	cfg      Config
	onChange func(target string, from, to State)

	mu       sync.Mutex
	state    State
	failures int       // consecutive, while closed
	openedAt time.Time // while open
	probing  bool      // while half-open: the probe is out
}

// New returns a closed breaker for target. onChange, if not nil, is called
// on every transition, outside the breaker's lock.
func New(target string, cfg Config, onChange func(target string, from, to State)) *Breaker {
	return &Breaker{target: target, cfg: cfg.withDefaults(), onChange: onChange}
}

// Target names what the breaker guards.
func (b *Breaker) Target() string { return b.target }

// State returns the current state; an open breaker whose timeout has passed
// reports half-open, as the next call would find it.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && !b.cfg.Now().Before(b.openedAt.Add(b.cfg.Timeout)) {
		return HalfOpen
	}
	return b.state
}

// Allow asks to make one call. It returns ErrCircuitOpen (wrapped) when the
// call must not be made; otherwise the caller makes it and reports the
// outcome with done(true) for success or done(false) for failure. A call
// whose outcome says nothing about the target (the caller gave up) should
// still call done: pass true, so a cancelled probe does not keep the
// breaker half-open forever.
func (b *Breaker) Allow() (done func(success bool), err error) {
	b.mu.Lock()
	var from, to State
	changed := false
	switch b.state {
	case Open:
		if b.cfg.Now().Before(b.openedAt.Add(b.cfg.Timeout)) {
			b.mu.Unlock()
			return nil, fmt.Errorf("%s: %w", b.target, ErrCircuitOpen)
		}
		from, to, changed = Open, HalfOpen, true
		b.state = HalfOpen
		fallthrough
	case HalfOpen:
		if b.probing {
			b.mu.Unlock()
			return nil, fmt.Errorf("%s: %w (a probe is running)", b.target, ErrCircuitOpen)
		}
		b.probing = true
	}
	b.mu.Unlock()
	if changed {
		b.notify(from, to)
	}
	var once sync.Once
	return func(success bool) { once.Do(func() { b.record(success) }) }, nil
}

// record applies one call's outcome.
func (b *Breaker) record(success bool) {
	b.mu.Lock()
	from := b.state
	switch {
	case b.state == HalfOpen && success:
		b.state, b.failures, b.probing = Closed, 0, false
	case b.state == HalfOpen:
		b.state, b.openedAt, b.probing = Open, b.cfg.Now(), false
	case success:
		b.failures = 0
	default:
		// Closed, or Open from a call let through before it opened.
		b.failures++
		if b.state == Closed && b.failures >= b.cfg.Threshold {
			b.state, b.openedAt = Open, b.cfg.Now()
		}
	}
	to := b.state
	b.mu.Unlock()
	if from != to {
		b.notify(from, to)
	}
}

func (b *Breaker) notify(from, to State) {
	if b.onChange != nil {
		b.onChange(b.target, from, to)
	}
}
