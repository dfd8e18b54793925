package runner_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
)

// groupStore is a task store with CreateBatch that records each batch, can
// hold a flush at a gate, and refuses the ids in conflict.
type groupStore struct {
	runner.TaskStore // not called
	gate             chan struct{}
	conflict         map[string]bool
	fail             error

	mu        sync.Mutex
	batches   [][]string
	marked    [][]string
	abandoned []string
}

func (s *groupStore) CreateBatch(ctx context.Context, ts []actors.Task) ([]error, error) {
	s.mu.Lock()
	s.batches = append(s.batches, taskIDs(ts))
	s.mu.Unlock()
	if s.gate != nil {
		<-s.gate
	}
	if s.fail != nil {
		return nil, s.fail
	}
	errs := make([]error, len(ts))
	for i, t := range ts {
		if s.conflict[t.ID] {
			errs[i] = fmt.Errorf("create %s: %w", t.ID, store.ErrConflict)
		}
	}
	return errs, nil
}

func (s *groupStore) MarkQueued(_ context.Context, ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked = append(s.marked, ids)
	return nil
}

func (s *groupStore) Abandon(_ context.Context, id string, _ string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandoned = append(s.abandoned, id)
	return nil
}

// groupQueue is a BatchQueue that fails the ids in down.
type groupQueue struct {
	down map[string]bool
	mu   sync.Mutex
	sent [][]string
}

func (q *groupQueue) PublishTask(context.Context, actors.Task) error {
	return errors.New("groupQueue: single publish not expected")
}

func (q *groupQueue) PublishBatch(_ context.Context, _ []context.Context, ts []actors.Task) []error {
	q.mu.Lock()
	q.sent = append(q.sent, taskIDs(ts))
	q.mu.Unlock()
	errs := make([]error, len(ts))
	for i, t := range ts {
		if q.down[t.ID] {
			errs[i] = errors.New("no PubAck")
		}
	}
	return errs
}

func taskIDs(ts []actors.Task) []string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
}

func groupSubmitter(s *groupStore, q *groupQueue) *runner.Submitter {
	return &runner.Submitter{Tasks: s, Queue: q, Logger: slog.New(slog.DiscardHandler)}
}

// submitAll submits ts concurrently and returns each one's error by id.
func submitAll(ctx context.Context, sub *runner.Submitter, ts []actors.Task) (wait func() map[string]error) {
	var mu sync.Mutex
	got := make(map[string]error, len(ts))
	var wg sync.WaitGroup
	for _, t := range ts {
		wg.Go(func() {
			err := sub.Submit(ctx, t)
			mu.Lock()
			got[t.ID] = err
			mu.Unlock()
		})
	}
	return func() map[string]error { wg.Wait(); return got }
}

func fakeTasks(n int) []actors.Task {
	ts := make([]actors.Task, n)
	for i := range ts {
		ts[i] = actors.Task{ID: fmt.Sprintf("t%02d", i), Type: "job"}
	}
	return ts
}

// TestSubmitWriterGroupsWhileFlushing: an idle writer flushes the first task
// alone at once; what arrives while that flush is in flight goes together in
// the next one, and each caller returns only after its own batch.
func TestSubmitWriterGroupsWhileFlushing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &groupStore{gate: make(chan struct{})}
		q := &groupQueue{}
		sub := groupSubmitter(s, q)
		ts := fakeTasks(6)

		first := submitAll(t.Context(), sub, ts[:1])
		synctest.Wait() // the first flush is held at the gate
		rest := submitAll(t.Context(), sub, ts[1:])
		synctest.Wait() // the other five wait for it
		s.mu.Lock()
		if len(s.batches) != 1 {
			t.Fatalf("batches while the first flush is held: %v", s.batches)
		}
		s.mu.Unlock()
		close(s.gate)
		for id, err := range first() {
			if err != nil {
				t.Errorf("submit %s: %v", id, err)
			}
		}
		for id, err := range rest() {
			if err != nil {
				t.Errorf("submit %s: %v", id, err)
			}
		}
		if len(s.batches) != 2 || len(s.batches[0]) != 1 || len(s.batches[1]) != 5 {
			t.Errorf("batches = %v, want one of 1 then one of 5", s.batches)
		}
		if len(s.marked) != 2 || len(q.sent) != 2 {
			t.Errorf("marked %v, published %v: want one MarkQueued and one publish per batch", s.marked, q.sent)
		}
	})
}

// TestSubmitWriterPerCallerErrors: a conflict answers only its caller and
// is not published; a failure of the whole batch answers every caller.
func TestSubmitWriterPerCallerErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := fakeTasks(4)
		s := &groupStore{gate: make(chan struct{}), conflict: map[string]bool{ts[2].ID: true}}
		q := &groupQueue{}
		sub := groupSubmitter(s, q)
		first := submitAll(t.Context(), sub, ts[:1])
		synctest.Wait()
		rest := submitAll(t.Context(), sub, ts[1:])
		synctest.Wait()
		close(s.gate)
		first()
		for id, err := range rest() {
			if id == ts[2].ID {
				if !errors.Is(err, store.ErrConflict) {
					t.Errorf("conflicting task: %v, want ErrConflict", err)
				}
			} else if err != nil {
				t.Errorf("submit %s: %v", id, err)
			}
		}
		for _, sent := range q.sent {
			if slices.Contains(sent, ts[2].ID) {
				t.Errorf("conflicting task published: %v", q.sent)
			}
		}

		down := &groupStore{fail: fmt.Errorf("db: %w", store.ErrUnavailable)}
		for id, err := range submitAll(t.Context(), groupSubmitter(down, q), fakeTasks(3))() {
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("submit %s with the store down: %v, want ErrUnavailable", id, err)
			}
		}
	})
}

// TestSubmitWriterPartialPublishFailure: the callers whose message was not
// confirmed have their task abandoned and get ErrQueueUnavailable (and
// ErrUnavailable); the rest are marked queued together and succeed.
func TestSubmitWriterPartialPublishFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := fakeTasks(5)
		s := &groupStore{gate: make(chan struct{})}
		q := &groupQueue{down: map[string]bool{ts[1].ID: true, ts[3].ID: true}}
		sub := groupSubmitter(s, q)
		first := submitAll(t.Context(), sub, ts[:1])
		synctest.Wait()
		rest := submitAll(t.Context(), sub, ts[1:])
		synctest.Wait()
		close(s.gate)
		first()
		for id, err := range rest() {
			if q.down[id] {
				if !errors.Is(err, runner.ErrQueueUnavailable) || !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("unconfirmed task %s: %v, want ErrQueueUnavailable and ErrUnavailable", id, err)
				}
			} else if err != nil {
				t.Errorf("submit %s: %v", id, err)
			}
		}
		slices.Sort(s.abandoned)
		if !slices.Equal(s.abandoned, []string{ts[1].ID, ts[3].ID}) {
			t.Errorf("abandoned %v, want the two unconfirmed tasks", s.abandoned)
		}
		want := [][]string{{ts[0].ID}, {ts[2].ID, ts[4].ID}}
		for _, m := range s.marked {
			slices.Sort(m)
		}
		if !slices.EqualFunc(s.marked, want, slices.Equal) {
			t.Errorf("marked queued %v, want %v", s.marked, want)
		}
	})
}

// TestSubmitWriterCallerGaveUp: a caller whose context ended while it waited
// for a batch gets its context's error, and its task is not stored.
func TestSubmitWriterCallerGaveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := fakeTasks(2)
		s := &groupStore{gate: make(chan struct{})}
		sub := groupSubmitter(s, &groupQueue{})
		first := submitAll(t.Context(), sub, ts[:1])
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		late := submitAll(ctx, sub, ts[1:])
		synctest.Wait()
		cancel()
		if err := late()[ts[1].ID]; !errors.Is(err, context.Canceled) {
			t.Errorf("caller that gave up: %v, want context.Canceled", err)
		}
		close(s.gate)
		first()
		synctest.Wait() // the writer finishes and goes idle
		for _, b := range s.batches {
			if slices.Contains(b, ts[1].ID) {
				t.Errorf("task of a caller that gave up was stored: %v", s.batches)
			}
		}
	})
}
