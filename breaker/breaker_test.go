package breaker_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ymera/ymera/breaker"
)

// clock is a fake time source moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recorder keeps transitions in order.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Transition(target string, from, to breaker.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, target+":"+from.String()+"->"+to.String())
}

var errBoom = errors.New("boom")

func setup(t *testing.T) (*breaker.Set, *clock, *recorder) {
	t.Helper()
	clk := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	return breaker.NewSet(breaker.Config{Now: clk.Now}, rec), clk, rec
}

func fail(context.Context) error { return errBoom }
func ok(context.Context) error   { return nil }

func TestBreakerOpensAfterThresholdAndFailsFast(t *testing.T) {
	t.Parallel()
	s, _, rec := setup(t)
	ctx := context.Background()
	for i := range breaker.DefaultThreshold - 1 {
		if err := s.Do(ctx, "x", fail); !errors.Is(err, errBoom) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// A success in between resets the count: failures must be consecutive.
	if err := s.Do(ctx, "x", ok); err != nil {
		t.Fatal(err)
	}
	for range breaker.DefaultThreshold {
		_ = s.Do(ctx, "x", fail)
	}
	if st := s.Get("x").State(); st != breaker.Open {
		t.Fatalf("state %v, want open", st)
	}
	called := false
	err := s.Do(ctx, "x", func(context.Context) error { called = true; return nil })
	if !errors.Is(err, breaker.ErrCircuitOpen) || called {
		t.Fatalf("open breaker: err %v, called %v; want ErrCircuitOpen without a call", err, called)
	}
	if !strings.Contains(err.Error(), "x") {
		t.Errorf("error %q does not name the target", err)
	}
	if got := s.NotClosed(); len(got) != 1 || got[0].Target != "x" || got[0].State != breaker.Open {
		t.Errorf("NotClosed = %v", got)
	}
	if want := []string{"x:closed->open"}; !slices.Equal(rec.got, want) {
		t.Errorf("transitions %v, want %v", rec.got, want)
	}
}

func TestBreakerHalfOpenProbe(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		probe func(context.Context) error
		want  breaker.State
		trans []string
	}{
		{"success closes", ok, breaker.Closed,
			[]string{"x:closed->open", "x:open->half_open", "x:half_open->closed"}},
		{"failure reopens", fail, breaker.Open,
			[]string{"x:closed->open", "x:open->half_open", "x:half_open->open"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clk, rec := setup(t)
			ctx := context.Background()
			for range breaker.DefaultThreshold {
				_ = s.Do(ctx, "x", fail)
			}
			clk.Add(breaker.DefaultTimeout - time.Nanosecond)
			if err := s.Do(ctx, "x", ok); !errors.Is(err, breaker.ErrCircuitOpen) {
				t.Fatalf("before the timeout: %v, want ErrCircuitOpen", err)
			}
			clk.Add(time.Nanosecond)

			// One probe at a time: a second call while it runs fails fast.
			done, err := s.Get("x").Allow()
			if err != nil {
				t.Fatalf("probe refused: %v", err)
			}
			if _, err := s.Get("x").Allow(); !errors.Is(err, breaker.ErrCircuitOpen) {
				t.Fatalf("second call during the probe: %v, want ErrCircuitOpen", err)
			}
			done(tc.probe(ctx) == nil)
			done(false) // a second report is ignored

			if st := s.Get("x").State(); st != tc.want {
				t.Fatalf("after probe: %v, want %v", st, tc.want)
			}
			if !slices.Equal(rec.got, tc.trans) {
				t.Errorf("transitions %v, want %v", rec.got, tc.trans)
			}
			if tc.want == breaker.Open {
				// Re-opened for a full timeout from the probe's failure.
				clk.Add(breaker.DefaultTimeout - time.Nanosecond)
				if err := s.Do(ctx, "x", ok); !errors.Is(err, breaker.ErrCircuitOpen) {
					t.Fatalf("re-opened breaker let a call through: %v", err)
				}
			}
		})
	}
}

func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	t.Parallel()
	s, _, _ := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 2 * breaker.DefaultThreshold {
		_ = s.Do(ctx, "x", func(ctx context.Context) error { return ctx.Err() })
	}
	if st := s.Get("x").State(); st != breaker.Closed {
		t.Fatalf("caller's own cancellations opened the breaker: %v", st)
	}
}

func TestBreakerTargetsAreIndependent(t *testing.T) {
	t.Parallel()
	s, _, _ := setup(t)
	for range breaker.DefaultThreshold {
		_ = s.Do(context.Background(), "a", fail)
	}
	if err := s.Do(context.Background(), "b", ok); err != nil {
		t.Fatalf("b refused because a is open: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := breaker.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Unix(0, 0)}
	s := breaker.NewSet(breaker.Config{Threshold: 2, Timeout: time.Second, Now: clk.Now}, m)
	_ = s.Do(context.Background(), "agent:x", fail)
	_ = s.Do(context.Background(), "agent:x", fail)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			v := mm.GetGauge().GetValue() + mm.GetCounter().GetValue()
			got[mf.GetName()] += v
		}
	}
	if got["ymera_circuit_breaker_state"] != 2 || got["ymera_circuit_breaker_transitions_total"] != 1 {
		t.Errorf("metrics %v, want state 2 (open) and 1 transition", got)
	}
}
