package transport

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// testLogger writes warnings and errors to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testConn starts an embedded server in a temporary directory, connects to
// it and closes both at cleanup.
func testConn(t testing.TB, opts Options) *Conn {
	t.Helper()
	if opts.URL == "" && opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Connect(ctx, opts, testLogger(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// setup returns a connection to a fresh embedded server with the streams
// and buckets declared.
func setup(t testing.TB) *Conn {
	t.Helper()
	c := testConn(t, Options{})
	if err := c.Setup(testCtx(t), SetupOptions{}); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return c
}

// testCtx is the test's context bounded by testTimeout.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newID returns a random lowercase UUID (version 4).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newTask(taskType string) actors.Task {
	return actors.Task{
		ID:         newID(),
		Name:       "test " + taskType,
		Type:       taskType,
		Parameters: []byte(`{"n":1}`),
		Priority:   actors.PriorityNormal,
		CreatedAt:  time.Now().UTC().Truncate(time.Millisecond),
	}
}

// consumer declares a consumer for kind with short waits for tests.
func consumer(t testing.TB, c *Conn, opts ConsumerOptions) *TaskConsumer {
	t.Helper()
	if opts.FetchWait == 0 {
		opts.FetchWait = 500 * time.Millisecond
	}
	tc, err := c.EnsureConsumer(testCtx(t), opts)
	if err != nil {
		t.Fatalf("EnsureConsumer(%s): %v", opts.Kind, err)
	}
	return tc
}

// fetchOne fetches until one delivery arrives or the test timeout passes.
func fetchOne(t testing.TB, tc *TaskConsumer) *TaskDelivery {
	t.Helper()
	ctx := testCtx(t)
	for ctx.Err() == nil {
		ds, err := tc.Fetch(ctx, 1)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if len(ds) == 1 {
			return ds[0]
		}
		if len(ds) > 1 {
			t.Fatalf("Fetch(1) returned %d deliveries", len(ds))
		}
	}
	t.Fatalf("no delivery within %s", testTimeout)
	return nil
}

// fetchNone asserts that one fetch wait passes without a delivery.
func fetchNone(t testing.TB, tc *TaskConsumer) {
	t.Helper()
	ds, err := tc.Fetch(testCtx(t), 10)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(ds) != 0 {
		t.Fatalf("Fetch returned %d deliveries, want none (first: seq %d, delivered %d)", len(ds), ds[0].Seq(), ds[0].NumDelivered())
	}
}
