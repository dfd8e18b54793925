package transport_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// A whole round trip on an embedded server: declare, publish, fetch, ack.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "ymera-nats-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	conn, err := transport.Connect(ctx, transport.Options{DataDir: dir}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.Setup(ctx, transport.SetupOptions{}); err != nil {
		log.Fatal(err)
	}
	tasks, err := conn.EnsureConsumer(ctx, transport.ConsumerOptions{
		Kind:      "documentation",
		TaskTypes: []string{"write_docs"},
		PoolSize:  8,
	})
	if err != nil {
		log.Fatal(err)
	}

	res, err := conn.PublishTask(ctx, actors.Task{
		ID:       "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10",
		Name:     "document the transport",
		Type:     "write_docs",
		Priority: actors.PriorityHigh,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored at", res.Stream, res.Seq)

	deliveries, err := tasks.Fetch(ctx, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range deliveries {
		t, err := d.Task()
		if err != nil {
			_ = d.Term() // undecodable: retrying cannot help
			continue
		}
		fmt.Println("got", t.Type, t.Priority, "attempt", t.Attempt, "on", d.Subject())
		if err := d.Ack(); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// stored at YMERA_TASKS 1
	// got write_docs high attempt 1 on ymera.tasks.write_docs.high
}
