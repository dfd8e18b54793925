// Command natsflood publishes many tasks straight to a running system's
// JetStream, as a service would (transport.EncodeTask bodies on
// ymera.tasks.<type>.<priority>, the task id as Nats-Msg-Id), and reports
// how long it took and how many messages the tasks stream then holds. It
// measures "RSS with 1,000,000 tasks queued and no agents"
// (docs/performance.md, "Measurements"); it is a tool, not the product.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

func main() {
	url := flag.String("nats", "nats://127.0.0.1:4222", "NATS URL of the running system")
	n := flag.Int("n", 1_000_000, "tasks to publish")
	user := flag.String("user", "", "user id the tasks belong to")
	taskType := flag.String("type", "bench_noop", "task type")
	pending := flag.Int("pending", 4096, "most unacknowledged publishes in flight")
	flag.Parse()
	if err := run(*url, *n, *user, *taskType, *pending); err != nil {
		fmt.Fprintln(os.Stderr, "natsflood:", err)
		os.Exit(1)
	}
}

func run(url string, n int, user, taskType string, pending int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	// A publish the server refuses is counted, not fatal: the figure says
	// how many were lost.
	var failed atomic.Int64
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(pending),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		return err
	}
	subject, err := transport.TaskSubject(taskType, actors.PriorityNormal)
	if err != nil {
		return err
	}
	params := json.RawMessage(`{"n":1}`)
	t0 := time.Now()
	for i := range n {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		body, err := transport.EncodeTask(actors.Task{
			ID: id.String(), Name: "flood", Type: taskType, Parameters: params,
			Priority: actors.PriorityNormal, UserID: user, CreatedAt: time.Now().UTC(),
		})
		if err != nil {
			return err
		}
		m := nats.NewMsg(subject)
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, id.String())
		// A server slowed by its own garbage collection (a memory limit) is
		// waited for, not counted as a failure.
		if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(30*time.Second)); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
		if (i+1)%100_000 == 0 {
			fmt.Printf("published %d in %s\n", i+1, time.Since(t0).Round(time.Millisecond))
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	took := time.Since(t0)
	s, err := js.Stream(ctx, transport.StreamTasks)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("published %d tasks in %s (%.0f/s), %d refused; %s holds %d messages, %d bytes\n",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), failed.Load(), transport.StreamTasks, info.State.Msgs, info.State.Bytes)
	return nil
}
