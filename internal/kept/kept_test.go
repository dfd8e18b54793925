package kept_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ymera/ymera/internal/kept"
)

// TestGoroutinesRunEveryFunction: every function given to Go runs once,
// from many callers at once, with at most the set's size kept idle, and
// Stop ends the idle goroutines.
func TestGoroutinesRunEveryFunction(t *testing.T) {
	before := runtime.NumGoroutine()
	g := kept.New(4)
	const n = 2000
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		runs = make(map[int]int, n)
	)
	for i := range n {
		wg.Add(1)
		go g.Go(func() {
			defer wg.Done()
			mu.Lock()
			runs[i]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for i := range n {
		if runs[i] != 1 {
			t.Fatalf("function %d ran %d times", i, runs[i])
		}
	}
	// Idle ones are kept, up to 4.
	if extra := waitGoroutines(t, before+4); extra > 0 {
		t.Errorf("%d goroutines kept, want at most 4", 4+extra)
	}
	g.Stop()
	if extra := waitGoroutines(t, before); extra > 0 {
		t.Errorf("%d goroutines left after Stop", extra)
	}
	// After Stop, Go still runs what it is given.
	done := make(chan struct{})
	g.Go(func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a function given after Stop never ran")
	}
}

// waitGoroutines waits up to a few seconds for the goroutine count to fall
// to want and returns how far above want it stayed.
func waitGoroutines(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return runtime.NumGoroutine() - want
}
