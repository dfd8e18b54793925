package breaker

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Listener is told of every state change of every breaker in a Set.
type Listener interface {
	Transition(target string, from, to State)
}

// Set holds one breaker per target, all with the same Config, made on first
// use. It is safe for concurrent use.
type Set struct {
	cfg       Config
	listeners []Listener

	mu       sync.Mutex
	breakers map[string]*Breaker
}

// NewSet returns an empty set whose breakers use cfg and report their
// transitions to listeners.
func NewSet(cfg Config, listeners ...Listener) *Set {
	return &Set{cfg: cfg.withDefaults(), listeners: listeners, breakers: map[string]*Breaker{}}
}

// Get returns target's breaker, making it closed if it is new.
func (s *Set) Get(target string) *Breaker {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.breakers[target]
	if !ok {
		b = New(target, s.cfg, s.transition)
		s.breakers[target] = b
	}
	return b
}

func (s *Set) transition(target string, from, to State) {
	for _, l := range s.listeners {
		l.Transition(target, from, to)
	}
}

// Do runs call through target's breaker: it fails fast with ErrCircuitOpen
// while the breaker is open, and otherwise counts call's error as a failure
// of the target. An error that is only the caller's own context ending
// (cancelled, or its deadline) is not held against the target.
func (s *Set) Do(ctx context.Context, target string, call func(context.Context) error) error {
	done, err := s.Get(target).Allow()
	if err != nil {
		return err
	}
	err = call(ctx)
	done(err == nil || ctx.Err() != nil)
	return err
}

// Status is one breaker's state, for reports.
type Status struct {
	Target string
	State  State
}

// NotClosed lists the breakers that are open or half-open, by target.
func (s *Set) NotClosed() []Status {
	s.mu.Lock()
	all := make([]*Breaker, 0, len(s.breakers))
	for _, b := range s.breakers {
		all = append(all, b)
	}
	s.mu.Unlock()
	var out []Status
	for _, b := range all {
		if st := b.State(); st != Closed {
			out = append(out, Status{Target: b.Target(), State: st})
		}
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Target, b.Target) })
	return out
}
