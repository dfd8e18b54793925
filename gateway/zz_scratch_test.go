package gateway_test

import (
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

func TestScratchLoop(t *testing.T) {
	b := setup(t)
	token, _ := b.register(t, "loop")
	start := time.Now()
	for i := 0; i < 60000; i++ {
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
				os.Exit(3)
			}
		}()
		t0 := time.Now()
		b.do(t, req{method: "POST", path: "/tasks", body: `{"name": "n", "task_type": "security_scan"}`, token: token})
		close(done)
		if d := time.Since(t0); d > 200*time.Millisecond {
			t.Logf("request %d took %v", i, d)
		}
		if i%5000 == 0 {
			t.Logf("%d after %v", i, time.Since(start))
		}
	}
}
