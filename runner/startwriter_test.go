package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// startBatchStore is a TaskStore with StartBatch that records the batches
// and single starts it is given. A task starts when it exists (created, or
// named in rows) and is not in conflict; whole batches fail with batchErr;
// each batch waits for hold (when set) to be closed.
type startBatchStore struct {
	TaskStore // nil: only what the tests call is implemented
	mu        sync.Mutex
	batches   [][]string
	singles   []string
	rows      map[string]int // attempts by task id
	conflict  map[string]bool
	batchErr  error
	hold      chan struct{}
}

func (s *startBatchStore) startLocked(id string, lease int64) (store.Task, error) {
	n, ok := s.rows[id]
	switch {
	case !ok:
		return store.Task{}, fmt.Errorf("task %s: %w", id, store.ErrNotFound)
	case s.conflict[id]:
		return store.Task{}, fmt.Errorf("task %s: %w", id, store.ErrConflict)
	}
	s.rows[id] = n + 1
	return store.Task{Task: actors.Task{ID: id}, Status: actors.StatusRunning, Lease: lease, Attempts: n + 1}, nil
}

func (s *startBatchStore) StartBatch(ctx context.Context, items []store.Starting) ([]store.Task, []error, error) {
	if s.hold != nil {
		<-s.hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	s.batches = append(s.batches, ids)
	if s.batchErr != nil {
		return nil, nil, s.batchErr
	}
	ts, errs := make([]store.Task, len(items)), make([]error, len(items))
	for i, it := range items {
		ts[i], errs[i] = s.startLocked(it.ID, it.Lease)
	}
	return ts, errs, nil
}

func (s *startBatchStore) Start(ctx context.Context, id string, lease int64, now time.Time) (store.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.singles = append(s.singles, id)
	return s.startLocked(id, lease)
}

func (s *startBatchStore) Create(ctx context.Context, t actors.Task) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[t.ID] = 0
	return nil
}

func newStartBatchStore(ids ...string) *startBatchStore {
	s := &startBatchStore{rows: map[string]int{}, conflict: map[string]bool{}}
	for _, id := range ids {
		s.rows[id] = 0
	}
	return s
}

// While a batch is being committed, the Start calls that arrive wait and go
// together in the next batch; each caller gets its own task and error.
func TestStartWriterGroupsWhileFlushing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStartBatchStore("t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9")
		s.hold, s.conflict["t3"] = make(chan struct{}), true
		w := newStartWriter(s, slog.New(slog.DiscardHandler), nil)
		defer w.Stop()

		const n = 11 // t10 does not exist
		got, errs := make([]store.Task, n), make([]error, n)
		var wg sync.WaitGroup
		start := func(i int) {
			wg.Go(func() { got[i], errs[i] = w.Start(t.Context(), fmt.Sprintf("t%d", i), int64(100+i), time.Now()) })
		}
		start(0)
		synctest.Wait() // the first call is being committed, alone: no waiting at low load
		for i := 1; i < n; i++ {
			start(i)
		}
		synctest.Wait() // the others wait for the flush in flight
		close(s.hold)
		wg.Wait()

		if len(s.batches) != 2 || len(s.batches[0]) != 1 || len(s.batches[1]) != n-1 {
			t.Fatalf("batches %v, want one of 1 then one of %d", s.batches, n-1)
		}
		for i := range n {
			id := fmt.Sprintf("t%d", i)
			switch i {
			case 3:
				if !errors.Is(errs[i], store.ErrConflict) {
					t.Errorf("Start %s: error %v, want ErrConflict", id, errs[i])
				}
			case 10:
				if !errors.Is(errs[i], store.ErrNotFound) {
					t.Errorf("Start %s: error %v, want ErrNotFound", id, errs[i])
				}
			default:
				if errs[i] != nil || got[i].ID != id || got[i].Lease != int64(100+i) || got[i].Attempts != 1 {
					t.Errorf("Start %s: %+v, %v; want its own task running under lease %d", id, got[i], errs[i], 100+i)
				}
			}
		}
	})
}

// A task asked for twice while a flush is in flight (a redelivery racing
// its first delivery) goes once per batch: the second waits for the next.
func TestStartWriterHoldsRepeatedTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStartBatchStore("a", "b", "c")
		s.hold = make(chan struct{})
		w := newStartWriter(s, slog.New(slog.DiscardHandler), nil)
		defer w.Stop()

		var wg sync.WaitGroup
		attempts := map[string][]int{}
		var mu sync.Mutex
		start := func(id string) {
			wg.Go(func() {
				st, err := w.Start(t.Context(), id, 1, time.Now())
				if err != nil {
					t.Errorf("Start %s: %v", id, err)
				}
				mu.Lock()
				attempts[id] = append(attempts[id], st.Attempts)
				mu.Unlock()
			})
		}
		start("a")
		synctest.Wait() // a is in flight
		for _, id := range []string{"b", "b", "c", "b"} {
			start(id)
			synctest.Wait() // in this order
		}
		close(s.hold)
		wg.Wait()

		want := [][]string{{"a"}, {"b", "c"}, {"b"}, {"b"}}
		if fmt.Sprint(s.batches) != fmt.Sprint(want) {
			t.Fatalf("batches %v, want %v", s.batches, want)
		}
		slices.Sort(attempts["b"]) // the callers return in any order
		if fmt.Sprint(attempts["b"]) != "[1 2 3]" {
			t.Errorf("attempts seen by the starts of b: %v, want 1, 2 and 3", attempts["b"])
		}
	})
}

// A batch the store could not commit fails every caller in it.
func TestStartWriterBatchError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStartBatchStore("t1")
		s.batchErr = fmt.Errorf("down: %w", store.ErrUnavailable)
		w := newStartWriter(s, slog.New(slog.DiscardHandler), nil)
		defer w.Stop()
		if _, err := w.Start(t.Context(), "t1", 1, time.Now()); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Start: error %v, want ErrUnavailable", err)
		}
	})
}

// A caller that gives up gets its context's error and does not hold the
// writer; a request held back when Stop comes is still committed and
// answered; once stopped, the writer is bypassed, not waited on.
func TestStartWriterCancelAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStartBatchStore("t1", "t2", "t3")
		s.hold = make(chan struct{}) // one send lets one batch through
		w := newStartWriter(s, slog.New(slog.DiscardHandler), nil)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			_, err := w.Start(ctx, "t1", 1, time.Now())
			errc <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Start after cancel: error %v, want context.Canceled", err)
		}

		var wg sync.WaitGroup
		for range 2 { // the same task twice: one is held back
			wg.Go(func() {
				if _, err := w.Start(t.Context(), "t2", 1, time.Now()); err != nil {
					t.Errorf("Start t2: %v", err)
				}
			})
		}
		synctest.Wait()
		s.hold <- struct{}{} // t1's batch commits; its answer goes nowhere
		synctest.Wait()      // one t2 in flight, the other held back
		stopped := make(chan struct{})
		go func() { w.Stop(); close(stopped) }()
		synctest.Wait()
		s.hold <- struct{}{} // the first t2
		s.hold <- struct{}{} // the held one, although the writer is stopping
		<-stopped
		wg.Wait()
		if want := "[[t1] [t2] [t2]]"; fmt.Sprint(s.batches) != want {
			t.Fatalf("batches %v, want %s", s.batches, want)
		}

		if _, err := w.Start(t.Context(), "t3", 1, time.Now()); err != nil {
			t.Fatalf("Start after Stop: %v", err)
		}
		if fmt.Sprint(s.singles) != "[t3]" {
			t.Fatalf("singles %v: want t3 started alone after Stop", s.singles)
		}
	})
}

// A task with no row yet (published straight to NATS) is created from its
// message and then started alone, not through another batch, when the
// store cannot create rows in batches.
func TestStartCreatesAndStartsAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newStartBatchStore()
		var n Node
		rt := &runtime{tasks: n.groupCommit(s, slog.New(slog.DiscardHandler), nil), now: time.Now}
		defer n.Stop(t.Context())

		st, err := rt.start(t.Context(), actors.Task{ID: "direct"}, 9, false)
		if err != nil || st.ID != "direct" || st.Lease != 9 || st.Attempts != 1 {
			t.Fatalf("start: %+v, %v; want direct running under lease 9", st, err)
		}
		if fmt.Sprint(s.batches) != "[[direct]]" || fmt.Sprint(s.singles) != "[direct]" {
			t.Fatalf("batches %v, singles %v: want one batch that missed, then one start alone", s.batches, s.singles)
		}
	})
}

// A message that claims no committed row (a task published straight to
// NATS) has its row made started first, without a start batch that would
// miss it; one that had a row after all is started with the batch's other
// tasks in one StartBatch.
func TestStartWriterMakesFreshRowsFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &createStartedStore{startBatchStore: newStartBatchStore("known", "had")}
		s.hold = make(chan struct{})
		var n Node
		rt := &runtime{tasks: n.groupCommit(s, slog.New(slog.DiscardHandler), nil), now: time.Now}
		defer n.Stop(t.Context())

		ids := []string{"known", "new1", "new2", "had"}
		fresh := []bool{false, true, true, true}
		got, errs := make([]store.Task, len(ids)), make([]error, len(ids))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = rt.start(t.Context(), actors.Task{ID: "known"}, 1, false) })
		synctest.Wait() // the first start is being committed alone; the rest queue behind it
		for i, id := range ids {
			wg.Go(func() { got[i], errs[i] = rt.start(t.Context(), actors.Task{ID: id}, int64(10+i), fresh[i]) })
		}
		synctest.Wait()
		close(s.hold)
		wg.Wait()

		for i, id := range ids {
			if id == "known" {
				continue // its first delivery holds it: this one conflicts
			}
			if errs[i] != nil || got[i].ID != id || got[i].Lease != int64(10+i) || got[i].Attempts != 1 {
				t.Errorf("start %s: %+v, %v; want it running under lease %d", id, got[i], errs[i], 10+i)
			}
		}
		for _, b := range append(s.creates, s.batches...) {
			slices.Sort(b)
		}
		if want := "[[had new1 new2]]"; fmt.Sprint(s.creates) != want {
			t.Errorf("creates %v; want %s: the fresh tasks in one batch, first", s.creates, want)
		}
		if want := "[[known] [had known]]"; fmt.Sprint(s.batches) != want {
			t.Errorf("start batches %v; want %s: the task whose row existed started with the rest", s.batches, want)
		}
	})
}

// createStartedStore is a startBatchStore that can also store rows already
// started in a batch, as the real stores can. made names tasks whose rows
// something else makes after the start batch missed them and before
// CreateStarted runs (another delivery of the task, say).
type createStartedStore struct {
	*startBatchStore
	creates [][]string
	made    map[string]bool
}

func (s *createStartedStore) CreateStarted(ctx context.Context, items []store.NewStart) ([]store.Task, []error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(items))
	ts, errs := make([]store.Task, len(items)), make([]error, len(items))
	for i, it := range items {
		id := it.Task.ID
		ids[i] = id
		if s.made[id] {
			s.rows[id] = 0
		}
		if _, ok := s.rows[id]; ok {
			errs[i] = fmt.Errorf("task %s: %w", id, store.ErrConflict)
			continue
		}
		s.rows[id] = 1
		ts[i] = store.Task{Task: it.Task, Status: actors.StatusRunning, Lease: it.Lease, Attempts: 1}
	}
	s.creates = append(s.creates, ids)
	return ts, errs, nil
}

// Tasks with no row yet (published straight to NATS) that arrive together
// get their rows already started in one CreateStarted, not one row and one
// start each, nor another StartBatch; a task that has a row is started as
// usual, and one whose row was made meanwhile goes through one more
// StartBatch.
func TestStartWriterCreatesMissingRowsInBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &createStartedStore{startBatchStore: newStartBatchStore("known"), made: map[string]bool{"raced": true}}
		s.hold = make(chan struct{})
		var n Node
		rt := &runtime{tasks: n.groupCommit(s, slog.New(slog.DiscardHandler), nil), now: time.Now}
		defer n.Stop(t.Context())

		ids := []string{"known", "new1", "new2", "new3", "raced"}
		got, errs := make([]store.Task, len(ids)), make([]error, len(ids))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = rt.start(t.Context(), actors.Task{ID: "first"}, 1, false) })
		synctest.Wait() // "first" is being committed alone; the rest queue behind it
		for i, id := range ids {
			wg.Go(func() { got[i], errs[i] = rt.start(t.Context(), actors.Task{ID: id}, int64(10+i), false) })
		}
		synctest.Wait()
		close(s.hold)
		wg.Wait()

		for i, id := range ids {
			if errs[i] != nil || got[i].ID != id || got[i].Lease != int64(10+i) || got[i].Attempts != 1 {
				t.Errorf("start %s: %+v, %v; want it running under lease %d", id, got[i], errs[i], 10+i)
			}
			if strings.HasPrefix(id, "new") && got[i].MaxAttempts != 1 {
				t.Errorf("start %s: max attempts %d; want 1 for a message that names none", id, got[i].MaxAttempts)
			}
		}
		if len(s.singles) != 0 {
			t.Errorf("started alone: %v; want every start batched", s.singles)
		}
		for _, b := range append(s.creates, s.batches...) {
			slices.Sort(b) // the callers queue in any order
		}
		if want := "[[first] [new1 new2 new3 raced]]"; fmt.Sprint(s.creates) != want {
			t.Errorf("creates %v; want %s: first, then the row-less tasks in one batch", s.creates, want)
		}
		if want := "[[first] [known new1 new2 new3 raced] [raced]]"; fmt.Sprint(s.batches) != want {
			t.Errorf("start batches %v; want %s: only the task whose row was made meanwhile started again",
				s.batches, want)
		}
	})
}
