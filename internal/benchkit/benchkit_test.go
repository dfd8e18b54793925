package benchkit

import (
	"context"
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	odd := []float64{3, 1, 2}
	if got := Median(odd); got != 2 {
		t.Errorf("Median(%v) = %v, want 2", odd, got)
	}
	if !slices.Equal(odd, []float64{3, 1, 2}) {
		t.Errorf("Median reordered its input: %v", odd)
	}
	if got := Median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("Median of four = %v, want 2.5", got)
	}
	if got := Median(nil); got != 0 {
		t.Errorf("Median(nil) = %v, want 0", got)
	}
}

func TestSettlerWithoutServerDoesNothing(t *testing.T) {
	s := Settler{Databases: []string{"postgres://nowhere.invalid/x"}, Name: "test"}
	s.Settle(context.Background()) // would fail and warn if it tried
	if s.warned {
		t.Error("a Settler without a server tried to reach one")
	}
}

func TestSettlerReportsAFailureOnce(t *testing.T) {
	s := Settler{Server: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1", Name: "test"}
	s.Settle(context.Background())
	if !s.warned {
		t.Fatal("a server that cannot be reached was not reported")
	}
	s.Settle(context.Background()) // reported once; the runs go on
}
