package runner

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
	"github.com/ymera/ymera/store"
)

// batchStore is a resultStore that records the batches it is given, fails
// the items whose id is in conflict, fails whole batches with batchErr, and
// holds each batch until hold (when set) is closed.
type batchStore struct {
	mu       sync.Mutex
	batches  [][]string
	singles  []string
	conflict map[string]bool
	batchErr error
	hold     chan struct{}
}

func (s *batchStore) FinishBatch(ctx context.Context, items []store.Finished) ([]error, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	errs := s.take(&s.batches, ids, s.conflict)
	if s.batchErr != nil {
		return nil, s.batchErr
	}
	return errs, nil
}

// take waits for hold (when set), records ids as one batch in *into, and
// returns each id's verdict: a conflict for those in conflict.
func (s *batchStore) take(into *[][]string, ids []string, conflict map[string]bool) []error {
	if s.hold != nil {
		<-s.hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make([]error, len(ids))
	for i, id := range ids {
		if conflict[id] {
			errs[i] = fmt.Errorf("task %s: %w", id, store.ErrConflict)
		}
	}
	*into = append(*into, ids)
	return errs
}

func (s *batchStore) Finish(ctx context.Context, id string, lease int64, o store.Outcome, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.singles = append(s.singles, id)
	return nil
}

var completedOutcome = store.Outcome{Status: actors.StatusCompleted}

// commitLog records what a writer reports of its statements, as
// "op items failed".
type commitLog struct {
	mu  sync.Mutex
	got []string
}

func (l *commitLog) report(op string, items int, took time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, fmt.Sprintf("%s %d %t", op, items, err != nil))
}

// While a batch is being committed, the Finish calls that arrive wait and
// go together in the next batch; each caller gets its own item's error.
func TestResultWriterGroupsWhileFlushing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &batchStore{hold: make(chan struct{}), conflict: map[string]bool{"t3": true, "t7": true}}
		var log commitLog
		w := newResultWriter(s, slog.New(slog.DiscardHandler), log.report)
		defer w.Stop()

		errs := make([]error, 11)
		var wg sync.WaitGroup
		finish := func(i int) {
			wg.Go(func() { errs[i] = w.Finish(t.Context(), fmt.Sprintf("t%d", i), 1, completedOutcome, time.Now()) })
		}
		finish(0)
		synctest.Wait() // the first call is being committed, alone: no waiting at low load
		for i := 1; i < 11; i++ {
			finish(i)
		}
		synctest.Wait() // the others wait for the flush in flight
		close(s.hold)
		wg.Wait()

		if len(s.batches) != 2 || len(s.batches[0]) != 1 || len(s.batches[1]) != 10 {
			t.Fatalf("batches %v, want one of 1 then one of 10", s.batches)
		}
		for i, err := range errs {
			if want := i == 3 || i == 7; errors.Is(err, store.ErrConflict) != want || (!want && err != nil) {
				t.Errorf("Finish t%d: error %v, conflict expected: %v", i, err, want)
			}
		}
		// An item's conflict is its own verdict, not a failed statement.
		if want := []string{"finish 1 false", "finish 10 false"}; !slices.Equal(log.got, want) {
			t.Errorf("reported %q, want %q", log.got, want)
		}
	})
}

// A batch the store could not commit fails every caller in it.
func TestResultWriterBatchError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &batchStore{batchErr: fmt.Errorf("down: %w", store.ErrUnavailable)}
		var log commitLog
		w := newResultWriter(s, slog.New(slog.DiscardHandler), log.report)
		defer w.Stop()
		if err := w.Finish(t.Context(), "t1", 1, completedOutcome, time.Now()); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Finish: error %v, want ErrUnavailable", err)
		}
		if want := []string{"finish 1 true"}; !slices.Equal(log.got, want) {
			t.Errorf("reported %q, want %q", log.got, want)
		}
	})
}

// A caller that gives up gets its context's error and does not hold the
// writer; once stopped, the writer is bypassed, not waited on.
func TestResultWriterCancelAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &batchStore{hold: make(chan struct{})}
		w := newResultWriter(s, slog.New(slog.DiscardHandler), nil)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- w.Finish(ctx, "t1", 1, completedOutcome, time.Now()) }()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Finish after cancel: error %v, want context.Canceled", err)
		}
		close(s.hold) // the batch still commits; its answer goes nowhere
		w.Stop()

		if err := w.Finish(t.Context(), "t2", 1, completedOutcome, time.Now()); err != nil {
			t.Fatalf("Finish after Stop: %v", err)
		}
		if len(s.batches) != 1 || len(s.singles) != 1 || s.singles[0] != "t2" {
			t.Fatalf("batches %v, singles %v: want t1 batched, t2 alone", s.batches, s.singles)
		}
	})
}

// An outcome handed over with commitThen while a batch is being committed
// is queued without waiting for it; Stop commits it before it returns, and
// its then learns its verdict.
func TestResultWriterStopCommitsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &batchStore{hold: make(chan struct{}), conflict: map[string]bool{"t3": true}}
		w := newResultWriter(s, slog.New(slog.DiscardHandler), nil)
		go func() { _ = w.Finish(t.Context(), "t1", 1, completedOutcome, time.Now()) }()
		synctest.Wait() // t1's batch is being committed, held

		var mu sync.Mutex
		verdicts := map[string]error{}
		for _, id := range []string{"t2", "t3"} {
			r := finishReq{item: store.Finished{ID: id, Lease: 1, Outcome: completedOutcome, At: time.Now()}}
			r.then = func(err error) {
				mu.Lock()
				defer mu.Unlock()
				verdicts[id] = err
			}
			if !w.commitThen(r) { // returns at once: the flush in flight is not waited for
				t.Fatalf("commitThen %s: refused by a running writer", id)
			}
		}
		stopped := make(chan struct{})
		go func() {
			w.Stop()
			close(stopped)
		}()
		synctest.Wait()
		select {
		case <-stopped:
			t.Fatal("Stop returned before the batch in flight was committed")
		default:
		}
		close(s.hold)
		<-stopped
		synctest.Wait() // the thens run on the batch's own goroutine

		if len(s.batches) != 2 || !slices.Equal(s.batches[1], []string{"t2", "t3"}) {
			t.Fatalf("batches %v, want [t1] then [t2 t3]", s.batches)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(verdicts) != 2 || verdicts["t2"] != nil || !errors.Is(verdicts["t3"], store.ErrConflict) {
			t.Errorf("verdicts %v, want t2 committed and t3 in conflict", verdicts)
		}
		if w.commitThen(finishReq{then: func(error) { t.Error("then called after Stop") }}) {
			t.Error("commitThen after Stop: accepted")
		}
	})
}

// A task store without FinishBatch is used as it is.
func TestGroupCommitNeedsBatchStore(t *testing.T) {
	var n Node
	var ts TaskStore = singleOnly{}
	if got := n.groupCommit(ts, slog.New(slog.DiscardHandler), nil); got != ts || len(n.stops) != 0 {
		t.Fatalf("groupCommit wrapped a store without FinishBatch: %T", got)
	}
}

type singleOnly struct{ TaskStore }

// creatingStore is a batchStore that can also make rows with their outcome:
// it records those batches apart and refuses the ids in exists.
type creatingStore struct {
	batchStore
	creates [][]string
	exists  map[string]bool
}

func (s *creatingStore) CreateFinished(ctx context.Context, items []store.NewFinish) ([]error, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.Task.ID
	}
	return s.take(&s.creates, ids, s.exists), nil
}

// Outcomes and rows made with their outcome wait in the same batch; each
// kind goes to the store in a statement of its own, and each caller gets
// its own item's verdict. Once stopped, the writer makes a row alone.
func TestResultWriterCreatesFinished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &creatingStore{batchStore: batchStore{hold: make(chan struct{}), conflict: map[string]bool{"f2": true}},
			exists: map[string]bool{"c1": true}}
		w := newResultWriter(s, slog.New(slog.DiscardHandler), nil)
		if got := finishCreating(groupTasks{TaskStore: singleOnly{}, w: w}); got == nil {
			t.Fatal("finishCreating: nil for a writer whose store is a FinishCreator")
		}

		errs := make(map[string]error)
		var mu sync.Mutex
		var wg sync.WaitGroup
		run := func(id string, f func() error) {
			wg.Go(func() {
				err := f()
				mu.Lock()
				errs[id] = err
				mu.Unlock()
			})
		}
		finish := func(id string) {
			run(id, func() error { return w.Finish(t.Context(), id, 1, completedOutcome, time.Now()) })
		}
		create := func(id string) {
			run(id, func() error {
				return w.CreateFinished(t.Context(), store.NewFinish{Task: actors.Task{ID: id}, Lease: 1,
					Outcome: completedOutcome, At: time.Now()})
			})
		}
		finish("f0")
		synctest.Wait() // f0 is being committed alone
		finish("f1")
		finish("f2")
		create("c0")
		create("c1")
		synctest.Wait()
		close(s.hold)
		wg.Wait()

		if len(s.batches) != 2 || len(s.batches[1]) != 2 || len(s.creates) != 1 || len(s.creates[0]) != 2 {
			t.Fatalf("finish batches %v, create batches %v; want [f0] then two finishes, and one of two creates",
				s.batches, s.creates)
		}
		for id, want := range map[string]bool{"f0": false, "f1": false, "f2": true, "c0": false, "c1": true} {
			if err := errs[id]; errors.Is(err, store.ErrConflict) != want || (!want && err != nil) {
				t.Errorf("%s: error %v, conflict expected: %v", id, err, want)
			}
		}

		w.Stop()
		err := w.CreateFinished(t.Context(), store.NewFinish{Task: actors.Task{ID: "c2"}, Lease: 1,
			Outcome: completedOutcome, At: time.Now()})
		if err != nil || len(s.creates) != 2 || s.creates[1][0] != "c2" {
			t.Fatalf("CreateFinished after Stop: %v, create batches %v; want c2 made alone", err, s.creates)
		}
	})
}

// A node whose store cannot make rows with their outcome defers no task
// published straight to NATS.
func TestFinishCreatingNeedsCreator(t *testing.T) {
	w := newResultWriter(&batchStore{}, slog.New(slog.DiscardHandler), nil)
	defer w.Stop()
	if finishCreating(groupTasks{TaskStore: singleOnly{}, w: w}) != nil || finishCreating(singleOnly{}) != nil {
		t.Fatal("finishCreating: not nil for a store without CreateFinished")
	}
}
