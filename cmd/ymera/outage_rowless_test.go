package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
)

// TestRowlessTasksThroughOutage publishes tasks straight to JetStream (no
// row yet: a first delivery whose task has none runs the agent before any
// write, and its outcome makes the row) in waves before, across and after
// a database outage. The second wave's agents take 30 ms, and the cut
// comes while they run: their outcomes are held until the store answers
// again. The deliveries that look the store up during the outage begin the
// usual way once it is back. Every task must end completed, by one
// attempt, with one completion event.
func TestRowlessTasksThroughOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL and runs for several seconds")
	}
	t.Parallel()
	s, a, proxy, natsURL := startOutageSystem(t)
	user := a.signUp()

	var ids []string
	publish := func(n int, params string) {
		t.Helper()
		batch := make([]actors.Task, n)
		for i := range batch {
			batch[i] = actors.Task{ID: uuid.Must(uuid.NewV7()).String(), Name: "rowless", Type: "bench_noop",
				Parameters: []byte(params), Priority: actors.PriorityNormal, UserID: user, CreatedAt: time.Now().UTC()}
		}
		for i, err := range s.conn.PublishTasks(t.Context(), batch) {
			if err != nil {
				t.Fatalf("publish %s: %v", batch[i].ID, err)
			}
			ids = append(ids, batch[i].ID)
		}
	}

	publish(50, `{}`)
	time.Sleep(500 * time.Millisecond)
	publish(50, `{"sleep_ms":30}`)
	time.Sleep(100 * time.Millisecond)
	proxy.Cut()
	waitReady(t, a, http.StatusServiceUnavailable, 5*time.Second)
	time.Sleep(4 * time.Second)
	proxy.Restore()
	waitReady(t, a, http.StatusOK, 30*time.Second)
	publish(50, `{}`)

	for _, id := range ids {
		tv := waitRow(t, a, id, 60*time.Second)
		if tv.Status != "completed" || tv.Attempts != 1 {
			t.Errorf("task %s ended %s after %d attempts: %s", id, tv.Status, tv.Attempts, tv.ErrorMessage)
		}
	}
	counts := completionEvents(t, natsURL)
	for _, id := range ids {
		if counts[id] > 1 {
			t.Errorf("task %s has %d completion events, want 1", id, counts[id])
		}
	}
}

// waitRow waits until task id has a row (a task published straight to
// NATS has none until its first delivery makes one), then until it ends.
func waitRow(t *testing.T, a *apiClient, id string, timeout time.Duration) taskView {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		status, _, _ := a.do(http.MethodGet, "/tasks/"+id, nil)
		if status == http.StatusOK {
			return a.waitFinal(id, time.Until(deadline))
		}
		if status != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("GET /tasks/%s: %d, want 200 once a delivery made its row", id, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
