package transport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// What the runtime's dead-letter watcher and the DLQ admin need beyond
// Conn.DeadLetter: reading a task message by sequence, dropping one, the
// durable stream of max-deliveries advisories, and listing and replaying
// YMERA_DLQ.

// StoredTask returns the task message stored at seq in YMERA_TASKS and
// whether there is one (a message already acknowledged or moved is gone).
func (c *Conn) StoredTask(ctx context.Context, seq uint64) (actors.Task, bool, error) {
	op := "read task seq " + strconv.FormatUint(seq, 10)
	stream, err := c.js.Stream(ctx, StreamTasks)
	if err != nil {
		return actors.Task{}, false, wrap(op, err)
	}
	raw, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return actors.Task{}, false, nil
	}
	if err != nil {
		return actors.Task{}, false, wrap(op, err)
	}
	t, err := DecodeTask(raw.Data)
	if err != nil {
		return actors.Task{}, true, fmt.Errorf("transport: %s: %w", op, err)
	}
	return t, true, nil
}

// DropTask deletes the message at seq from YMERA_TASKS: for a message whose
// task is already final, which no worker needs to see again. A message
// already gone is not an error.
func (c *Conn) DropTask(ctx context.Context, seq uint64) error {
	op := "drop task seq " + strconv.FormatUint(seq, 10)
	stream, err := c.js.Stream(ctx, StreamTasks)
	if err != nil {
		return wrap(op, err)
	}
	if err := stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return wrap(op, err)
	}
	return nil
}

// DeadAdvisories is the durable consumer of StreamDeadAdvisories, shared by
// every node's dead-letter watcher.
type DeadAdvisories struct {
	cons jetstream.Consumer
}

// AdvisoryDelivery is one max-deliveries advisory to act on. Ack it once
// the task is dead-lettered; Nak it to have it delivered again.
type AdvisoryDelivery struct {
	Advisory MaxDeliveriesAdvisory
	msg      jetstream.Msg
}

// Ack settles the advisory.
func (d *AdvisoryDelivery) Ack() error { return d.msg.Ack() }

// Nak hands the advisory back, to be delivered again after delay.
func (d *AdvisoryDelivery) Nak(delay time.Duration) error { return d.msg.NakWithDelay(delay) }

// EnsureDeadAdvisories declares the advisory consumer (idempotent).
func (c *Conn) EnsureDeadAdvisories(ctx context.Context) (*DeadAdvisories, error) {
	cons, err := c.js.CreateOrUpdateConsumer(ctx, StreamDeadAdvisories, jetstream.ConsumerConfig{
		Durable:       DeadAdvisoryConsumer,
		Description:   "YMERA dead-letter watchers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       DefaultAckWait,
		MaxAckPending: minMaxAckPending,
	})
	if err != nil {
		return nil, wrap("consumer "+DeadAdvisoryConsumer, err)
	}
	return &DeadAdvisories{cons: cons}, nil
}

// Fetch waits up to wait for advisories and returns up to max of them. A
// malformed advisory is terminated and skipped.
func (a *DeadAdvisories) Fetch(ctx context.Context, max int, wait time.Duration) ([]*AdvisoryDelivery, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	batch, err := a.cons.Fetch(max, jetstream.FetchContext(wctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, wrap("fetch dead advisories", err)
	}
	var out []*AdvisoryDelivery
	for msg := range batch.Messages() {
		adv, err := DecodeMaxDeliveriesAdvisory(msg.Data())
		if err != nil {
			_ = msg.Term()
			continue
		}
		out = append(out, &AdvisoryDelivery{Advisory: adv, msg: msg})
	}
	if err := batch.Error(); err != nil && len(out) == 0 &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return nil, wrap("fetch dead advisories", err)
	}
	return out, nil
}

// DeadLetterEntry is one task in YMERA_DLQ.
type DeadLetterEntry struct {
	// Seq is the entry's sequence in YMERA_DLQ.
	Seq      uint64
	TaskID   string
	TaskType string
	// Subject is where the task was published, and where a replay puts it.
	Subject    string
	Reason     string
	Deliveries int
	// At is when the task was dead-lettered.
	At time.Time

	data   []byte
	header nats.Header
}

// DeadLetters lists YMERA_DLQ oldest first, starting after the entry with
// sequence after (0: from the start), at most limit entries.
func (c *Conn) DeadLetters(ctx context.Context, after uint64, limit int) ([]DeadLetterEntry, error) {
	stream, err := c.js.Stream(ctx, StreamDeadLetters)
	if err != nil {
		return nil, wrap("list dead letters", err)
	}
	var out []DeadLetterEntry
	for seq := after + 1; len(out) < limit; {
		raw, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subjectAllDeadLetters))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, wrap("list dead letters", err)
		}
		out = append(out, deadLetterEntry(raw))
		seq = raw.Sequence + 1
	}
	return out, nil
}

// FindDeadLetter returns the YMERA_DLQ entry of taskID and whether there is
// one. It scans the stream: dead letters are few, and kept only until they
// are replayed.
func (c *Conn) FindDeadLetter(ctx context.Context, taskID string) (DeadLetterEntry, bool, error) {
	var after uint64
	for {
		page, err := c.DeadLetters(ctx, after, 256)
		if err != nil || len(page) == 0 {
			return DeadLetterEntry{}, false, err
		}
		for _, e := range page {
			if e.TaskID == taskID {
				return e, true, nil
			}
		}
		after = page[len(page)-1].Seq
	}
}

// ReplayDeadLetter publishes e's task again on its original subject, with
// its original headers, then deletes e from YMERA_DLQ. The copy's message id
// is derived from e's sequence, not the task id, so the work queue does not
// drop it as a duplicate of the first publish, while replaying the same
// entry twice stores it once. The new message has a new stream sequence,
// hence a fresh lease.
func (c *Conn) ReplayDeadLetter(ctx context.Context, e DeadLetterEntry) error {
	op := "replay dead letter of task " + e.TaskID
	if _, err := TaskTypeOfSubject(e.Subject); err != nil {
		return fmt.Errorf("transport: %s: %w", op, err)
	}
	h := make(nats.Header, len(e.header))
	for k, v := range e.header {
		switch k {
		case HeaderDeadReason, HeaderDeadSubject, HeaderDeadSeq, HeaderDeadDeliveries, jetstream.MsgIDHeader:
		default:
			h[k] = v
		}
	}
	h.Set(jetstream.MsgIDHeader, e.TaskID+".replay."+strconv.FormatUint(e.Seq, 10))
	if _, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: e.Subject, Header: h, Data: e.data}); err != nil {
		return wrap(op, err)
	}
	c.ring(e.Subject)
	stream, err := c.js.Stream(ctx, StreamDeadLetters)
	if err != nil {
		return wrap(op, err)
	}
	if err := stream.DeleteMsg(ctx, e.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return wrap(op, err)
	}
	return nil
}

func deadLetterEntry(raw *jetstream.RawStreamMsg) DeadLetterEntry {
	e := DeadLetterEntry{
		Seq:     raw.Sequence,
		Subject: raw.Header.Get(HeaderDeadSubject),
		Reason:  raw.Header.Get(HeaderDeadReason),
		At:      raw.Time.UTC(),
		data:    raw.Data,
		header:  raw.Header,
	}
	e.Deliveries, _ = strconv.Atoi(raw.Header.Get(HeaderDeadDeliveries))
	if t, err := DecodeTask(raw.Data); err == nil {
		e.TaskID, e.TaskType = t.ID, t.Type
	}
	if e.TaskType == "" {
		e.TaskType, _ = TaskTypeOfSubject(e.Subject)
	}
	return e
}
