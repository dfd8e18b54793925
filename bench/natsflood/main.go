// Command natsflood publishes many tasks straight to a running system's
// JetStream, as a service would (transport.EncodeTask bodies on
// ymera.tasks.<type>.<priority>, the task id as Nats-Msg-Id), and reports
// how long it took and how many messages the tasks stream then holds. It
// measures "RSS with 1,000,000 tasks queued and no agents"
// (docs/performance.md, "Measurements"); it is a tool, not the product.
//
// With -events K it publishes task events instead, as agents and the
// runtime do (transport.Conn.PublishEvent): -n events, K for each task,
// and reports how many messages and subjects YMERA_EVENTS then holds
// (docs/performance.md, step 15).
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
	events := flag.Int("events", 0, "publish -n task events, this many for each task, instead of tasks")
	flag.Parse()
	var err error
	if *events > 0 {
		err = runEvents(*url, *n, *events)
	} else {
		err = run(*url, *n, *user, *taskType, *pending)
	}
	if err != nil {
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

// runEvents publishes n task events, perTask for each task id, and reports
// what YMERA_EVENTS holds once it has stored them all.
func runEvents(url string, n, perTask int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c, err := transport.Connect(ctx, transport.Options{URL: url}, nil)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	s, err := c.JS().Stream(ctx, transport.StreamEvents)
	if err != nil {
		return err
	}
	before, err := s.Info(ctx)
	if err != nil {
		return err
	}
	types := []string{transport.EventTaskQueued, transport.EventTaskStarted, transport.EventTaskCompleted}
	var id uuid.UUID
	t0 := time.Now()
	for i := range n {
		if i%perTask == 0 {
			if id, err = uuid.NewV7(); err != nil {
				return err
			}
		}
		ev := transport.Event{Type: types[min(i%perTask, len(types)-1)], TaskID: id.String(), Status: "completed"}
		if err := c.PublishEvent(ctx, ev); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
		// A round trip every thousand events keeps the publisher within
		// what the stream can take in: past its ingest queue the server
		// drops events, as it may any unacknowledged publish.
		if (i+1)%1000 == 0 {
			if err := c.NC().FlushWithContext(ctx); err != nil {
				return err
			}
		}
	}
	// Events are published without acknowledgement: wait until the stream
	// has stored them all, or has stored nothing more for a second. Its
	// last sequence counts every event stored, those it then dropped to
	// stay within its limits too.
	var info *jetstream.StreamInfo
	for last := uint64(0); ; {
		if info, err = s.Info(ctx); err != nil {
			return err
		}
		if info.State.LastSeq >= before.State.LastSeq+uint64(n) || info.State.LastSeq == last {
			break
		}
		last = info.State.LastSeq
		time.Sleep(time.Second)
	}
	took := time.Since(t0)
	stored := info.State.LastSeq - before.State.LastSeq
	fmt.Printf("published %d events of %d tasks in %s (%.0f/s), %d not stored; %s holds %d messages under %d subjects, %d bytes\n",
		n, (n+perTask-1)/perTask, took.Round(time.Millisecond), float64(n)/took.Seconds(), uint64(n)-min(stored, uint64(n)),
		transport.StreamEvents, info.State.Msgs, info.State.NumSubjects, info.State.Bytes)
	return nil
}
