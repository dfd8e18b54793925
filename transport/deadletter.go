package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers a dead-lettered message carries besides the original ones.
const (
	HeaderDeadReason  = "Ymera-Dead-Reason"
	HeaderDeadSubject = "Ymera-Dead-Subject"
	HeaderDeadSeq     = "Ymera-Dead-Seq"
	// HeaderDeadDeliveries is how many times the task was delivered before
	// it was given up on; absent when unknown.
	HeaderDeadDeliveries = "Ymera-Dead-Deliveries"
)

// MaxDeliveriesAdvisory is what the server publishes on
// MaxDeliveriesAdvisorySubject when a task ran out of deliveries.
type MaxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// DecodeMaxDeliveriesAdvisory parses a max-deliveries advisory.
func DecodeMaxDeliveriesAdvisory(b []byte) (MaxDeliveriesAdvisory, error) {
	var a MaxDeliveriesAdvisory
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%w: decode max deliveries advisory: %w", ErrInvalid, err)
	}
	if a.StreamSeq == 0 {
		return a, fmt.Errorf("%w: max deliveries advisory without stream_seq", ErrInvalid)
	}
	return a, nil
}

// DeadLetter moves the task stored at seq in YMERA_TASKS to YMERA_DLQ: it
// copies the message, with its headers and the reason, to
// ymera.dlq.<task_type>, then deletes the original. A work-queue stream
// keeps a message that ran out of deliveries forever otherwise, invisible
// to its consumer. Call it on the max-deliveries advisory or for a task the
// runtime gives up on.
//
// It is safe to run twice or on two nodes at once: the copy carries a
// message id derived from seq, so the DLQ stores it once, and a message
// already gone is not an error.
func (c *Conn) DeadLetter(ctx context.Context, seq uint64, reason string) error {
	return c.DeadLetterDelivered(ctx, seq, reason, 0)
}

// DeadLetterDelivered is DeadLetter recording how many deliveries the task
// had (from the max-deliveries advisory) in HeaderDeadDeliveries.
func (c *Conn) DeadLetterDelivered(ctx context.Context, seq uint64, reason string, deliveries uint64) error {
	op := "dead letter seq " + strconv.FormatUint(seq, 10)
	stream, err := c.js.Stream(ctx, StreamTasks)
	if err != nil {
		return wrap(op, err)
	}
	raw, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		return wrap(op, err)
	}
	taskType, err := TaskTypeOfSubject(raw.Subject)
	if err != nil {
		return fmt.Errorf("transport: %s: %w", op, err)
	}
	subject, err := DeadLetterSubject(taskType)
	if err != nil {
		return fmt.Errorf("transport: %s: %w", op, err)
	}
	h := make(nats.Header, len(raw.Header)+4)
	for k, v := range raw.Header {
		h[k] = v
	}
	h.Set(jetstream.MsgIDHeader, deadLetterMsgID(seq))
	h.Set(HeaderDeadReason, reason)
	h.Set(HeaderDeadSubject, raw.Subject)
	h.Set(HeaderDeadSeq, strconv.FormatUint(seq, 10))
	if deliveries > 0 {
		h.Set(HeaderDeadDeliveries, strconv.FormatUint(deliveries, 10))
	}
	if _, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: h, Data: raw.Data}); err != nil {
		return wrap(op, err)
	}
	if err := stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return wrap(op, err)
	}
	return nil
}
