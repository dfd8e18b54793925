package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
)

// benchNoopKind is an agent that does no work, so `ymera bench` measures the
// platform rather than an agent. `{"sleep_ms": n}` in the parameters makes it
// hold the task for n milliseconds (at most a minute), to simulate work in
// load and fault tests. The bench enables it; serve runs it only when
// AGENT_KINDS names it.
func benchNoopKind() actors.Kind {
	return actors.Kind{
		Name:        "bench_noop",
		Description: "does nothing (or sleeps for sleep_ms); used by ymera bench and fault tests",
		TaskTypes:   []string{"bench_noop"},
		New:         func() actors.Agent { return noopAgent{} },
	}
}

type noopAgent struct{}

var noopOutput = []byte(`{"ok":true}`)

func (noopAgent) Process(ctx context.Context, t actors.Task) (actors.Result, error) {
	if len(t.Parameters) == 0 || t.Parameters[0] != '{' || len(t.Parameters) <= 2 {
		return actors.Result{Output: noopOutput}, nil
	}
	var p struct {
		SleepMS int `json:"sleep_ms"`
	}
	if err := json.Unmarshal(t.Parameters, &p); err != nil {
		return actors.Result{}, actors.Permanent(fmt.Errorf("bench_noop: parameters: %w", err))
	}
	if p.SleepMS < 0 || p.SleepMS > 60_000 {
		return actors.Result{}, actors.Permanent(fmt.Errorf("bench_noop: sleep_ms=%d: expected 0 to 60000", p.SleepMS))
	}
	if p.SleepMS > 0 {
		select {
		case <-time.After(time.Duration(p.SleepMS) * time.Millisecond):
		case <-ctx.Done():
			return actors.Result{}, ctx.Err()
		}
	}
	return actors.Result{Output: noopOutput}, nil
}
