package runner_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// TestPoisonTaskDeadLettered runs a task whose handler always panics beside
// healthy tasks: it is delivered MaxDeliver times, ends dead_letter, sits in
// YMERA_DLQ (and no longer in the work stream), and the healthy tasks all
// complete. Replayed once the handler is fixed, it completes.
func TestPoisonTaskDeadLettered(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const maxDeliver = 3
	var fixed atomic.Bool
	var poisonCalls atomic.Int64
	poison := kind("poison", func(context.Context, actors.Task) (actors.Result, error) {
		if !fixed.Load() {
			poisonCalls.Add(1)
			panic("agent bug")
		}
		return actors.JSONResult(map[string]bool{"fixed": true})
	})
	healthy := kind("healthy", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]bool{"ok": true})
	})
	b.runNode(t, runner.NodeConfig{
		Kinds:   []actors.Kind{poison, healthy},
		Workers: 2, TaskTimeout: 10 * time.Second, AckWait: 5 * time.Second, MaxDeliver: maxDeliver,
		Backoff: supervisor.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2},
		Logger:  b.log,
	})

	sub := b.submitter()
	bad := newTask("poison_job", "")
	if err := sub.Submit(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	var good []string
	for range 20 {
		tk := newTask("healthy_job", "")
		if err := sub.Submit(t.Context(), tk); err != nil {
			t.Fatal(err)
		}
		good = append(good, tk.ID)
	}
	for _, id := range good {
		if got := waitFinal(t, b.db.Tasks(), id); got.Status != actors.StatusCompleted {
			t.Errorf("healthy task %s ended %s", id, got.Status)
		}
	}
	got := waitFinal(t, b.db.Tasks(), bad.ID)
	if got.Status != actors.StatusDeadLetter {
		t.Fatalf("poison task ended %s (%q), want dead_letter", got.Status, got.ErrorMessage)
	}
	if n := poisonCalls.Load(); n != maxDeliver {
		t.Errorf("poison handler ran %d times, want MaxDeliver = %d", n, maxDeliver)
	}
	var entries []transport.DeadLetterEntry
	waitFor(t, func() bool {
		var err error
		entries, err = b.conn.DeadLetters(t.Context(), 0, 10)
		return err == nil && len(entries) == 1 && b.streamEmpty(t)
	})
	if e := entries[0]; e.TaskID != bad.ID || e.TaskType != "poison_job" || e.Deliveries != maxDeliver || e.Reason == "" {
		t.Errorf("dead letter %+v", e)
	}

	fixed.Store(true)
	dl := &runner.DeadLetters{Conn: b.conn, Tasks: b.db.Tasks(), Events: b.conn, Logger: b.log}
	if err := dl.Replay(t.Context(), bad.ID); err != nil {
		t.Fatal(err)
	}
	got = waitFinal(t, b.db.Tasks(), bad.ID)
	if got.Status != actors.StatusCompleted || string(got.Result) != `{"fixed":true}` {
		t.Errorf("replayed task ended %s with %s", got.Status, got.Result)
	}
	if left, err := b.conn.DeadLetters(t.Context(), 0, 10); err != nil || len(left) != 0 {
		t.Errorf("DLQ after replay: %v, %v", left, err)
	}
	attempts, err := b.db.Tasks().Attempts(t.Context(), bad.ID)
	if err != nil || len(attempts) != maxDeliver+1 || attempts[len(attempts)-1].Status != "completed" {
		t.Errorf("attempts after replay: %+v, %v", attempts, err)
	}
}
