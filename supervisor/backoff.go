package supervisor

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults of Backoff, applied to each zero field.
const (
	defaultInitialBackoff = 100 * time.Millisecond
	defaultMaxBackoff     = 30 * time.Second
	defaultMultiplier     = 2.0
)

// Backoff is the delay schedule of restarts. The n-th failure of an actor
// within the restart window waits min(Max, Initial*Multiplier^(n-1)) before
// the actor restarts, jittered as described at Jitter.
//
// This is truly exponential, unlike protoactor-go's own
// ExponentialBackoffStrategy, whose delay grows linearly (failures*initial).
type Backoff struct {
	// Initial is the delay after the first failure (default 100ms).
	Initial time.Duration
	// Max caps the delay (default 30s). It is also how long an actor that
	// exhausted its restart budget stays down before it is replaced.
	Max time.Duration
	// Multiplier is the growth per failure (default 2); 1 keeps the delay
	// constant at Initial.
	Multiplier float64
}

// withDefaults fills each zero field with its default, so that a zero Backoff
// (what a caller who does not care passes) is a sensible schedule.
func (b Backoff) withDefaults() Backoff {
	if b.Initial == 0 {
		b.Initial = defaultInitialBackoff
	}
	if b.Max == 0 {
		b.Max = max(defaultMaxBackoff, b.Initial)
	}
	if b.Multiplier == 0 {
		b.Multiplier = defaultMultiplier
	}
	return b
}

// validate reports every field that cannot describe a schedule. It expects
// defaults to have been applied.
func (b Backoff) validate() error {
	var errs []error
	if b.Initial < 0 {
		errs = append(errs, fmt.Errorf("backoff initial must not be negative, got %v", b.Initial))
	}
	if b.Max < b.Initial {
		errs = append(errs, fmt.Errorf("backoff max (%v) must not be below initial (%v)", b.Max, b.Initial))
	}
	if b.Multiplier < 1 || math.IsNaN(b.Multiplier) || math.IsInf(b.Multiplier, 0) {
		errs = append(errs, fmt.Errorf("backoff multiplier must be a finite number ≥ 1, got %v", b.Multiplier))
	}
	return errors.Join(errs...)
}

// Delay returns the nominal (unjittered) delay after the n-th failure,
// min(Max, Initial*Multiplier^(n-1)). Zero fields take their defaults; n
// below 1 counts as 1. It never overflows: the growth is computed in floating
// point and capped before converting back to a Duration.
func (b Backoff) Delay(n int) time.Duration {
	b = b.withDefaults()
	if n < 1 {
		n = 1
	}
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if math.IsNaN(d) || d >= float64(b.Max) {
		return b.Max
	}
	return time.Duration(d)
}

// Jitter spreads a delay d uniformly over [d/2, d], given u drawn uniformly
// from [0, 1).
//
// We keep the lower half-bound ("equal jitter") rather than drawing from
// [0, d] ("full jitter"): restarts of actors that failed together are still
// spread over a window as wide as d/2, but a crash loop can never come back
// sooner than half the nominal delay, so the exponential throttling holds for
// every draw, not only on average.
func Jitter(d time.Duration, u float64) time.Duration {
	if d <= 0 {
		return 0
	}
	u = min(max(u, 0), 1)
	half := d / 2
	return half + time.Duration(u*float64(d-half))
}
