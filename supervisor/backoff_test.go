package supervisor

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{n: -1, want: 100 * time.Millisecond}, // below 1 counts as 1
		{n: 0, want: 100 * time.Millisecond},
		{n: 1, want: 100 * time.Millisecond},
		{n: 2, want: 200 * time.Millisecond},
		{n: 3, want: 400 * time.Millisecond},
		{n: 4, want: 800 * time.Millisecond},
		{n: 9, want: 25600 * time.Millisecond},
		{n: 10, want: 30 * time.Second}, // 51.2s, capped
		{n: 1000, want: 30 * time.Second},
		{n: 1 << 30, want: 30 * time.Second}, // Multiplier^n is +Inf: still capped
	}
	for _, tt := range tests {
		if got := b.Delay(tt.n); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestBackoffDelayGrowsExponentiallyToTheCap(t *testing.T) {
	t.Parallel()
	for _, b := range []Backoff{
		{Initial: 100 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2},
		{Initial: time.Millisecond, Max: time.Hour, Multiplier: 1.5},
		{Initial: 3 * time.Nanosecond, Max: 5 * time.Second, Multiplier: 10},
	} {
		prev := b.Delay(1)
		capped := false
		for n := 2; n <= 200; n++ {
			d := b.Delay(n)
			if d > b.Max {
				t.Fatalf("%+v: Delay(%d) = %v exceeds the cap", b, n, d)
			}
			if capped {
				if d != b.Max {
					t.Fatalf("%+v: Delay(%d) = %v after reaching the cap", b, n, d)
				}
				continue
			}
			if d == b.Max {
				capped = true
				continue
			}
			// Below the cap each step multiplies the delay (within rounding
			// to whole nanoseconds): exponential, not linear.
			want := float64(prev) * b.Multiplier
			if diff := float64(d) - want; diff < -1 || diff > 1 {
				t.Fatalf("%+v: Delay(%d) = %v, want %v×%v", b, n, d, prev, b.Multiplier)
			}
			prev = d
		}
		if !capped {
			t.Errorf("%+v: never reached the cap", b)
		}
	}
}

func TestBackoffDefaults(t *testing.T) {
	t.Parallel()
	var zero Backoff
	if got := zero.Delay(1); got != 100*time.Millisecond {
		t.Errorf("zero Backoff Delay(1) = %v, want 100ms", got)
	}
	if got := zero.Delay(2); got != 200*time.Millisecond {
		t.Errorf("zero Backoff Delay(2) = %v, want 200ms", got)
	}
	if got := zero.Delay(100); got != 30*time.Second {
		t.Errorf("zero Backoff Delay(100) = %v, want 30s", got)
	}
	constant := Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 1}
	if got := constant.Delay(50); got != time.Second {
		t.Errorf("multiplier 1: Delay(50) = %v, want 1s", got)
	}
}

func TestJitterBounds(t *testing.T) {
	t.Parallel()
	d := 800 * time.Millisecond
	if got := Jitter(d, 0); got != d/2 {
		t.Errorf("Jitter(d, 0) = %v, want d/2 = %v", got, d/2)
	}
	if got := Jitter(d, 1); got != d {
		t.Errorf("Jitter(d, 1) = %v, want d = %v", got, d)
	}
	if got := Jitter(0, 0.5); got != 0 {
		t.Errorf("Jitter(0, 0.5) = %v, want 0", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var low, high int
	for range 10000 {
		for _, d := range []time.Duration{1, 7, time.Millisecond, 30 * time.Second} {
			j := Jitter(d, r.Float64())
			if j < d/2 || j > d {
				t.Fatalf("Jitter(%v) = %v, outside [%v, %v]", d, j, d/2, d)
			}
		}
		// The draws spread over the whole range, not one end of it.
		switch j := Jitter(d, r.Float64()); {
		case j < d*5/8:
			low++
		case j > d*7/8:
			high++
		}
	}
	if low < 2000 || high < 2000 {
		t.Errorf("draws not spread over [d/2, d]: %d in the lowest quarter, %d in the highest", low, high)
	}
}
