package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// finals are the statuses no transition leaves.
var finals = []actors.Status{
	actors.StatusCompleted, actors.StatusFailed, actors.StatusCancelled,
	actors.StatusTimeout, actors.StatusDeadLetter,
}

func testTransitions(t *testing.T, s store.Store) {
	tasks := s.Tasks()
	now := time.Now()

	// Serial: the sweep reads every pending task of the table.
	t.Run("Pending", func(t *testing.T) {
		// Planted before every other fixture's created_at, so that only
		// these tasks are older than the cutoff.
		base := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		at := func(minutes int) func(*actors.Task) {
			return func(tk *actors.Task) { tk.CreatedAt = base.Add(time.Duration(minutes) * time.Minute) }
		}
		// Created out of order, so that id order is not time order.
		third := newTask(t, s, "", at(3))
		first := newTask(t, s, "", at(1))
		queued := newTask(t, s, "", at(2))
		second := newTask(t, s, "", at(2))
		cutoff := newTask(t, s, "", at(10)) // exactly at olderThan: not older
		ok(t, "mark queued", tasks.MarkQueued(t.Context(), queued.ID))

		olderThan := base.Add(10 * time.Minute)
		got, err := tasks.Pending(t.Context(), olderThan, 100)
		ok(t, "pending", err)
		equal(t, "pending, oldest first", ids(got, taskID), []string{first.ID, second.ID, third.ID})
		got, err = tasks.Pending(t.Context(), olderThan, 2)
		ok(t, "pending", err)
		equal(t, "pending, limited", ids(got, taskID), []string{first.ID, second.ID})
		got, err = tasks.Pending(t.Context(), base, 100)
		ok(t, "pending", err)
		equal(t, "pending before all", ids(got, taskID), []string{})

		// Leave nothing pending in the past for later runs of the sweep.
		ok(t, "mark queued", tasks.MarkQueued(t.Context(), first.ID, second.ID, third.ID, cutoff.ID))
	})

	t.Run("MarkQueued", func(t *testing.T) {
		t.Parallel()
		a, b, c := newTask(t, s, ""), newTask(t, s, ""), newTask(t, s, "")
		running := newTask(t, s, "")
		_, err := tasks.Start(t.Context(), running.ID, 3, now)
		ok(t, "start", err)

		ok(t, "mark queued", tasks.MarkQueued(t.Context(), a.ID, b.ID, running.ID, newID(), "not-a-uuid"))
		ok(t, "mark none", tasks.MarkQueued(t.Context()))
		for id, want := range map[string]actors.Status{
			a.ID: actors.StatusQueued, b.ID: actors.StatusQueued,
			c.ID: actors.StatusPending, running.ID: actors.StatusRunning,
		} {
			got, err := tasks.Get(t.Context(), id)
			ok(t, "get", err)
			if got.Status != want {
				t.Errorf("task %s is %s, want %s", id, got.Status, want)
			}
		}
		ok(t, "mark again", tasks.MarkQueued(t.Context(), a.ID)) // already queued: left alone
	})

	t.Run("Start", func(t *testing.T) {
		t.Parallel()
		const lease = 42
		type setup func(t *testing.T, id string)
		queue := func(t *testing.T, id string) { ok(t, "queue", tasks.MarkQueued(t.Context(), id)) }
		startWith := func(l int64) setup {
			return func(t *testing.T, id string) {
				_, err := tasks.Start(t.Context(), id, l, now)
				ok(t, "first start", err)
			}
		}
		finishAs := func(st actors.Status) setup {
			return func(t *testing.T, id string) {
				startWith(lease)(t, id)
				ok(t, "finish", tasks.Finish(t.Context(), id, lease, store.Outcome{Status: st}, now))
			}
		}
		cases := []struct {
			name     string
			setup    setup
			err      error
			attempts int
		}{
			{"from pending", func(*testing.T, string) {}, nil, 1},
			{"from queued", queue, nil, 1},
			{"redelivery under the same lease", startWith(lease), nil, 2},
			{"running under another lease", startWith(lease + 1), store.ErrConflict, 1},
		}
		for _, st := range finals {
			cases = append(cases, struct {
				name     string
				setup    setup
				err      error
				attempts int
			}{fmt.Sprintf("from %s", st), finishAs(st), store.ErrConflict, 1})
		}
		for _, tc := range cases {
			task := newTask(t, s, "")
			tc.setup(t, task.ID)
			before, err := tasks.Get(t.Context(), task.ID)
			ok(t, "get", err)
			got, err := tasks.Start(t.Context(), task.ID, lease, now.Add(time.Second))
			if tc.err != nil {
				isErr(t, tc.name, err, tc.err)
				after, err := tasks.Get(t.Context(), task.ID)
				ok(t, "get", err)
				equal(t, tc.name+": task after a refused start", after, before)
				continue
			}
			ok(t, tc.name, err)
			if got.Status != actors.StatusRunning || got.Lease != lease || got.Attempts != tc.attempts || got.Attempt != tc.attempts {
				t.Errorf("%s: status %s lease %d attempts %d attempt %d; want running %d %d %d",
					tc.name, got.Status, got.Lease, got.Attempts, got.Attempt, lease, tc.attempts, tc.attempts)
			}
		}
		_, err := tasks.Start(t.Context(), newID(), lease, now)
		isErr(t, "start unknown", err, store.ErrNotFound)
		_, err = tasks.Start(t.Context(), "not-a-uuid", lease, now)
		isErr(t, "start malformed", err, store.ErrNotFound)
	})

	t.Run("StartReturnsRow", func(t *testing.T) {
		t.Parallel()
		task := newTask(t, s, "")
		first, second := now.Add(time.Minute), now.Add(2*time.Minute)
		got, err := tasks.Start(t.Context(), task.ID, 7, first)
		ok(t, "start", err)
		want := store.Task{Task: task, Status: actors.StatusRunning, Attempts: 1, Lease: 7,
			StartedAt: storedPtr(&first), UpdatedAt: stored(first)}
		want.Attempt = 1
		want.Parameters = canonJSON(t, want.Parameters)
		got.Parameters = canonJSON(t, got.Parameters)
		equal(t, "first start", got, want)

		// A redelivery counts an attempt; started_at keeps the first start.
		got, err = tasks.Start(t.Context(), task.ID, 7, second)
		ok(t, "second start", err)
		want.Attempts, want.Attempt, want.UpdatedAt = 2, 2, stored(second)
		got.Parameters = canonJSON(t, got.Parameters)
		equal(t, "second start", got, want)
		again, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		again.Parameters = canonJSON(t, again.Parameters)
		equal(t, "Get after Start", again, want)
	})

	t.Run("Finish", func(t *testing.T) {
		t.Parallel()
		for _, st := range finals {
			task := newTask(t, s, "")
			_, err := tasks.Start(t.Context(), task.ID, 5, now)
			ok(t, "start", err)
			done := now.Add(time.Second)
			o := store.Outcome{Status: st, Result: json.RawMessage(`{"score": 97, "issues": []}`), ErrorMessage: "msg " + string(st)}
			ok(t, "finish "+string(st), tasks.Finish(t.Context(), task.ID, 5, o, done))
			got, err := tasks.Get(t.Context(), task.ID)
			ok(t, "get", err)
			if got.Status != st || got.ErrorMessage != o.ErrorMessage || got.CompletedAt == nil ||
				!got.CompletedAt.Equal(stored(done)) || !got.UpdatedAt.Equal(stored(done)) || got.Lease != 5 {
				t.Errorf("finished as %s: %+v", st, got)
			}
			equal(t, "result", string(canonJSON(t, got.Result)), string(canonJSON(t, o.Result)))
			err = tasks.Finish(t.Context(), task.ID, 5, o, done)
			isErr(t, "finish twice", err, store.ErrConflict)
		}

		task := newTask(t, s, "")
		err := tasks.Finish(t.Context(), task.ID, 5, store.Outcome{Status: actors.StatusCompleted}, now)
		isErr(t, "finish a pending task", err, store.ErrConflict)
		_, err = tasks.Start(t.Context(), task.ID, 5, now)
		ok(t, "start", err)
		err = tasks.Finish(t.Context(), task.ID, 6, store.Outcome{Status: actors.StatusCompleted}, now)
		isErr(t, "finish under another lease", err, store.ErrConflict)
		err = tasks.Finish(t.Context(), task.ID, 5, store.Outcome{Status: actors.StatusQueued}, now)
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("finish with a non-final outcome: error %v, want a plain error", err)
		}
		ok(t, "finish without result", tasks.Finish(t.Context(), task.ID, 5, store.Outcome{Status: actors.StatusCompleted}, now))
		got, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		if got.Result != nil || got.ErrorMessage != "" {
			t.Errorf("finished without result: result %q, error %q", got.Result, got.ErrorMessage)
		}
		err = tasks.Finish(t.Context(), newID(), 5, store.Outcome{Status: actors.StatusCompleted}, now)
		isErr(t, "finish unknown", err, store.ErrNotFound)
	})

	t.Run("Requeue", func(t *testing.T) {
		t.Parallel()
		task := newTask(t, s, "")
		_, err := tasks.Start(t.Context(), task.ID, 11, now)
		ok(t, "start", err)
		isErr(t, "requeue under another lease", tasks.Requeue(t.Context(), task.ID, 12, "x", now), store.ErrConflict)
		ok(t, "requeue", tasks.Requeue(t.Context(), task.ID, 11, "model timed out", now.Add(time.Second)))
		got, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		if got.Status != actors.StatusQueued || got.ErrorMessage != "model timed out" || !got.UpdatedAt.Equal(stored(now.Add(time.Second))) {
			t.Errorf("after requeue: %+v", got)
		}
		isErr(t, "requeue a queued task", tasks.Requeue(t.Context(), task.ID, 11, "x", now), store.ErrConflict)

		// The retry arrives under a new delivery.
		got, err = tasks.Start(t.Context(), task.ID, 13, now.Add(2*time.Second))
		ok(t, "restart", err)
		if got.Attempts != 2 || got.Lease != 13 || got.ErrorMessage != "model timed out" || !got.StartedAt.Equal(stored(now)) {
			t.Errorf("after restart: %+v", got)
		}
		isErr(t, "requeue unknown", tasks.Requeue(t.Context(), newID(), 1, "x", now), store.ErrNotFound)
	})

	t.Run("Abandon", func(t *testing.T) {
		t.Parallel()
		task := newTask(t, s, "")
		ok(t, "abandon", tasks.Abandon(t.Context(), task.ID, "queue unavailable", now))
		got, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		if got.Status != actors.StatusFailed || got.ErrorMessage != "queue unavailable" || got.CompletedAt == nil {
			t.Errorf("after abandon: %+v", got)
		}
		// A message that did reach the queue after all finds the task final.
		_, err = tasks.Start(t.Context(), task.ID, 5, now)
		isErr(t, "start an abandoned task", err, store.ErrConflict)

		// Queued and never started, as the submit writer stores a task:
		// its message is as unconfirmed as a pending task's.
		queued := newTask(t, s, "")
		ok(t, "queue", tasks.MarkQueued(t.Context(), queued.ID))
		ok(t, "abandon a queued task", tasks.Abandon(t.Context(), queued.ID, "x", now))
		got, err = tasks.Get(t.Context(), queued.ID)
		ok(t, "get", err)
		equal(t, "status after abandon", got.Status, actors.StatusFailed)

		// Queued again for a retry: it has run, and its message is stored.
		retried := newTask(t, s, "")
		_, err = tasks.Start(t.Context(), retried.ID, 6, now)
		ok(t, "start", err)
		ok(t, "requeue", tasks.Requeue(t.Context(), retried.ID, 6, "flaky", now))
		isErr(t, "abandon a retried task", tasks.Abandon(t.Context(), retried.ID, "x", now), store.ErrConflict)
		running := newTask(t, s, "")
		_, err = tasks.Start(t.Context(), running.ID, 8, now)
		ok(t, "start", err)
		isErr(t, "abandon a running task", tasks.Abandon(t.Context(), running.ID, "x", now), store.ErrConflict)
		isErr(t, "abandon unknown", tasks.Abandon(t.Context(), newID(), "x", now), store.ErrNotFound)
	})

	t.Run("RaceStartSameLease", func(t *testing.T) {
		t.Parallel()
		// Twenty redeliveries of one message race: each starts the task
		// and tries to finish it. Exactly one finish may win.
		task := newTask(t, s, "")
		ok(t, "queue", tasks.MarkQueued(t.Context(), task.ID))
		_, err := tasks.Start(t.Context(), task.ID, 77, now)
		ok(t, "start", err)

		starts, finishes := race(t, 20, func(i int) (startErr, finishErr error) {
			_, startErr = tasks.Start(t.Context(), task.ID, 77, now)
			o := store.Outcome{Status: actors.StatusCompleted, Result: json.RawMessage(fmt.Sprintf(`{"by": %d}`, i))}
			return startErr, tasks.Finish(t.Context(), task.ID, 77, o, now)
		})
		if finishes != 1 {
			t.Errorf("%d finishes won, want exactly 1", finishes)
		}
		got, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		if got.Status != actors.StatusCompleted || got.Attempts != 1+starts {
			t.Errorf("status %s, attempts %d; want completed, %d", got.Status, got.Attempts, 1+starts)
		}
	})

	t.Run("RaceStartLeases", func(t *testing.T) {
		t.Parallel()
		// Twenty deliveries with different leases race for a queued task:
		// exactly one holds it.
		task := newTask(t, s, "")
		ok(t, "queue", tasks.MarkQueued(t.Context(), task.ID))
		starts, _ := race(t, 20, func(i int) (error, error) {
			_, err := tasks.Start(t.Context(), task.ID, int64(100+i), now)
			return err, nil
		})
		if starts != 1 {
			t.Errorf("%d starts won, want exactly 1", starts)
		}
		got, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		if got.Status != actors.StatusRunning || got.Attempts != 1 {
			t.Errorf("status %s, attempts %d; want running, 1", got.Status, got.Attempts)
		}
	})
}

// race runs f in n goroutines released at once and counts the first and
// second errors that are nil. Any error other than store.ErrConflict fails t.
func race(t *testing.T, n int, f func(i int) (error, error)) (firstOK, secondOK int) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			e1, e2 := f(i)
			mu.Lock()
			defer mu.Unlock()
			for j, err := range []error{e1, e2} {
				switch {
				case err == nil && j == 0:
					firstOK++
				case err == nil:
					secondOK++
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("goroutine %d: %v, want nil or store.ErrConflict", i, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	return firstOK, secondOK
}
