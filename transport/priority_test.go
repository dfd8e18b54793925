package transport

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// TestPriorityConsumersReplaceTheOldOne: the four priority consumers take
// over from the kind's consumer from before priorities, which is deleted
// (a work queue would refuse the overlap), and each gets only its
// priority's tasks.
func TestPriorityConsumersReplaceTheOldOne(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	consumer(t, c, ConsumerOptions{Kind: "upg", TaskTypes: []string{"upg_job"}})
	cons, err := c.EnsurePriorityConsumers(ctx, ConsumerOptions{Kind: "upg", TaskTypes: []string{"upg_job"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.js.Consumer(ctx, StreamTasks, "agent_upg"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("old consumer still there: %v", err)
	}
	// Idempotent: a second node declares the same.
	if _, err := c.EnsurePriorityConsumers(ctx, ConsumerOptions{Kind: "upg", TaskTypes: []string{"upg_job"}}); err != nil {
		t.Fatal(err)
	}

	bell, err := c.SubscribeDoorbell([]string{"upg_job"})
	if err != nil {
		t.Fatal(err)
	}
	defer bell.Stop()
	for i, p := range actors.Priorities {
		if want := "agent_upg_" + string(p); cons[i].Name() != want {
			t.Errorf("consumer %d is %s, want %s", i, cons[i].Name(), want)
		}
		task := newTask("upg_job")
		task.Priority = p
		if _, err := c.PublishTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		select {
		case <-bell.Rings():
		case <-time.After(testTimeout):
			t.Fatalf("no ring for a %s task", p)
		}
	}
	for i, p := range actors.Priorities {
		// A ring is a hint: it can come before the consumer has counted
		// the message, so a no-wait fetch right after it may find nothing.
		var ds []*TaskDelivery
		waitFor(t, func() bool {
			var err error
			if ds, err = cons[i].FetchReady(ctx, 10); err != nil {
				t.Fatal(err)
			}
			return len(ds) > 0
		})
		if len(ds) != 1 {
			t.Fatalf("%s consumer got %d tasks, want 1", p, len(ds))
		}
		got, err := ds[0].Task()
		if err != nil || got.Priority != p {
			t.Errorf("%s consumer got a %s task (%v)", p, got.Priority, err)
		}
		_ = ds[0].Ack()
		if ds, err := cons[i].FetchReady(ctx, 10); err != nil || len(ds) != 0 {
			t.Errorf("%s consumer: %d more tasks, %v; want none, at once", p, len(ds), err)
		}
	}
}

// TestCancelRequests: a cancel request reaches every subscriber with its
// task id.
func TestCancelRequests(t *testing.T) {
	t.Parallel()
	c := setup(t)
	got := make(chan string, 1)
	stop, err := c.SubscribeCancels(func(id string) { got <- id })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	id := newID()
	if err := c.PublishCancel(testCtx(t), id); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g != id {
			t.Errorf("cancel for %s, want %s", g, id)
		}
	case <-time.After(testTimeout):
		t.Fatal("no cancel request received")
	}
	if err := c.PublishCancel(testCtx(t), "not.a.task"); !errors.Is(err, ErrInvalid) {
		t.Errorf("cancel of a bad id: %v", err)
	}
}
