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

// groupStore is a task store with EnqueueBatch that records each batch,
// can hold a flush at a gate, and refuses the ids in conflict. Batch n
// (from 1) gets outbox entry n.
type groupStore struct {
	runner.TaskStore // not called
	gate             chan struct{}
	conflict         map[string]bool
	fail             error
	abandonFail      error

	mu        sync.Mutex
	batches   [][]string
	cleared   []int64
	abandoned []string
}

func (s *groupStore) CreateBatch(context.Context, []actors.Task) ([]error, error) {
	return nil, errors.New("groupStore: CreateBatch not expected")
}

func (s *groupStore) EnqueueBatch(ctx context.Context, ts []actors.Task) (int64, []error, error) {
	s.mu.Lock()
	s.batches = append(s.batches, taskIDs(ts))
	outbox := int64(len(s.batches))
	s.mu.Unlock()
	if s.gate != nil {
		<-s.gate
	}
	if s.fail != nil {
		return 0, nil, s.fail
	}
	errs := make([]error, len(ts))
	for i, t := range ts {
		if s.conflict[t.ID] {
			errs[i] = fmt.Errorf("create %s: %w", t.ID, store.ErrConflict)
		}
	}
	return outbox, errs, nil
}

func (s *groupStore) ClearOutbox(_ context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleared = append(s.cleared, id)
	return nil
}

func (s *groupStore) Abandon(_ context.Context, id string, _ string, _ time.Time) error {
	if s.abandonFail != nil {
		return s.abandonFail
	}
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

// submitBehindFirst submits ts[0] alone, holds its flush at s's gate while
// the rest queue behind it, then lets both flushes go, and returns the
// answers of the rest: one batch of len(ts)-1 tasks. Call it inside a
// synctest bubble.
func submitBehindFirst(t *testing.T, sub *runner.Submitter, s *groupStore, ts []actors.Task) map[string]error {
	first := submitAll(t.Context(), sub, ts[:1])
	synctest.Wait()
	rest := submitAll(t.Context(), sub, ts[1:])
	synctest.Wait()
	close(s.gate)
	first()
	return rest()
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
		synctest.Wait() // the writer clears the outbox entry after answering
		if !slices.Equal(s.cleared, []int64{1, 2}) || len(q.sent) != 2 {
			t.Errorf("cleared outbox entries %v, published %v: want one clear and one publish per batch", s.cleared, q.sent)
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
		for id, err := range submitBehindFirst(t, sub, s, ts) {
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
// ErrUnavailable); the rest succeed, and each batch's outbox entry is
// cleared, since none of its tasks is left queued without a message.
func TestSubmitWriterPartialPublishFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := fakeTasks(5)
		s := &groupStore{gate: make(chan struct{})}
		q := &groupQueue{down: map[string]bool{ts[1].ID: true, ts[3].ID: true}}
		sub := groupSubmitter(s, q)
		for id, err := range submitBehindFirst(t, sub, s, ts) {
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
		synctest.Wait() // the writer clears the outbox entry after answering
		if !slices.Equal(s.cleared, []int64{1, 2}) {
			t.Errorf("cleared outbox entries %v, want both batches'", s.cleared)
		}
	})
}

// TestSubmitWriterKeepsOutboxEntry: a task whose message was not confirmed
// and which could not be abandoned either is promised to run (nil), so its
// batch's outbox entry stays for the Sweeper, the only way to it; a batch
// whose commit failed made no entry to clear.
func TestSubmitWriterKeepsOutboxEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := fakeTasks(3)
		s := &groupStore{gate: make(chan struct{}), abandonFail: fmt.Errorf("db: %w", store.ErrUnavailable)}
		q := &groupQueue{down: map[string]bool{ts[2].ID: true}}
		sub := groupSubmitter(s, q)
		for id, err := range submitBehindFirst(t, sub, s, ts) {
			if err != nil {
				t.Errorf("submit %s: %v, want nil (published, or left for the sweeper)", id, err)
			}
		}
		synctest.Wait() // the writer clears the outbox entry after answering
		if !slices.Equal(s.cleared, []int64{1}) {
			t.Errorf("cleared outbox entries %v, want the first batch's only", s.cleared)
		}

		down := &groupStore{fail: fmt.Errorf("db: %w", store.ErrUnavailable)}
		submitAll(t.Context(), groupSubmitter(down, q), fakeTasks(1))()
		synctest.Wait()
		if len(down.cleared) != 0 {
			t.Errorf("cleared outbox entries %v after a failed commit, want none", down.cleared)
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
