package transport

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
)

// The trace context of the publisher's ctx reaches the consumer through
// the message headers.
func TestTraceContextRoundTrip(t *testing.T) {
	t.Parallel()
	c := setup(t)
	tc := consumer(t, c, ConsumerOptions{Kind: "traced", TaskTypes: []string{"traced"}})

	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		TraceState: mustTraceState(t, "ymera=1"),
	})
	ctx := trace.ContextWithSpanContext(testCtx(t), sc)
	if _, err := c.PublishTask(ctx, newTask("traced")); err != nil {
		t.Fatal(err)
	}
	d := fetchOne(t, tc)
	if got := d.msg.Headers().Get("traceparent"); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("traceparent header %q", got)
	}
	got := trace.SpanContextFromContext(d.Context(context.Background()))
	if got.TraceID() != sc.TraceID() || got.SpanID() != sc.SpanID() || !got.IsSampled() || !got.IsRemote() {
		t.Fatalf("extracted %+v, want remote %+v", got, sc)
	}
	if got.TraceState().Get("ymera") != "1" {
		t.Fatalf("tracestate lost: %q", got.TraceState().String())
	}
	if err := d.Ack(); err != nil {
		t.Fatal(err)
	}

	// Without a span nothing is written, and extraction leaves ctx alone.
	if _, err := c.PublishTask(testCtx(t), newTask("traced")); err != nil {
		t.Fatal(err)
	}
	d = fetchOne(t, tc)
	if _, ok := d.msg.Headers()["traceparent"]; ok {
		t.Fatal("traceparent written without a span")
	}
	if trace.SpanContextFromContext(d.Context(context.Background())).IsValid() {
		t.Fatal("span context extracted from nothing")
	}
}

func TestHeaderCarrierCaseInsensitiveGet(t *testing.T) {
	t.Parallel()
	h := nats.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	ctx := ExtractTrace(context.Background(), h)
	if !trace.SpanContextFromContext(ctx).IsValid() {
		t.Fatal("capitalised traceparent not understood")
	}
	keys := HeaderCarrier(h).Keys()
	if len(keys) != 1 || keys[0] != "Traceparent" {
		t.Fatalf("Keys() = %v", keys)
	}
}

func mustTraceState(t *testing.T, s string) trace.TraceState {
	ts, err := trace.ParseTraceState(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
