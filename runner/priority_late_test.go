package runner

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// scriptedLane answers FetchReady from a script, one answer per call
// (the number of deliveries), then nothing.
type scriptedLane struct {
	mu      sync.Mutex
	answers []int
	calls   int
}

func (l *scriptedLane) FetchReady(_ context.Context, max int) ([]*transport.TaskDelivery, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if len(l.answers) == 0 {
		return nil, nil
	}
	n := min(l.answers[0], max)
	l.answers = l.answers[1:]
	// The source only counts and passes deliveries on; none is opened here.
	return make([]*transport.TaskDelivery, n), nil
}

// scriptedLanes returns a scripted lane per priority, and the same as the
// fetchers a prioritySource takes.
func scriptedLanes() ([]*scriptedLane, []readyFetcher) {
	lanes := make([]*scriptedLane, len(actors.Priorities))
	cons := make([]readyFetcher, len(lanes))
	for i := range lanes {
		lanes[i] = &scriptedLane{}
		cons[i] = lanes[i]
	}
	return lanes, cons
}

// TestLateRingLooksAgain: the server rings and counts a new message for the
// consumers on separate goroutines, so the look a ring triggers can find
// the priority empty. The source looks once more shortly after, instead of
// leaving the task for the next ring or laneRecheck. The lane here answers
// "empty" to the look the ring triggers, as the server does when the ring
// runs ahead, and has the task on the next.
func TestLateRingLooksAgain(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	conn, err := transport.Connect(ctx, transport.Options{DataDir: filepath.Join(t.TempDir(), "nats")}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := conn.Setup(ctx, transport.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	bell, err := conn.SubscribeDoorbell([]string{"late_job"})
	if err != nil {
		t.Fatal(err)
	}
	defer bell.Stop()

	lanes, cons := scriptedLanes()
	const normal = 2 // actors.Priorities order
	lanes[normal].answers = []int{0, 0, 1}
	// A wait shorter than laneRecheck: without the second look, the only
	// way to the task in this Fetch.
	src := newPrioritySource(cons, bell, laneRecheck/2)

	// Every priority found empty and marked so.
	if got, err := src.Fetch(ctx, 1); err != nil || len(got) != 0 {
		t.Fatalf("first fetch: %d deliveries, %v; want none", len(got), err)
	}
	task := actors.Task{ID: uuid.Must(uuid.NewV7()).String(), Name: "late", Type: "late_job",
		Priority: actors.PriorityNormal, Parameters: []byte(`{}`), CreatedAt: time.Now().UTC()}
	if _, err := conn.PublishTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for bell.Rung(normal) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no ring for the normal task")
		}
		time.Sleep(time.Millisecond)
	}

	got, err := src.Fetch(ctx, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("fetch after the ring: %d deliveries, %v; want the task", len(got), err)
	}
	if calls := lanes[normal].calls; calls != 3 {
		t.Errorf("normal priority asked %d times, want 3 (empty, empty after the ring, the task)", calls)
	}
	if src.anyLate() {
		t.Error("a second look is still pending after it found the task")
	}
}
