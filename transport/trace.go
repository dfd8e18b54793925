package transport

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HeaderCarrier lets OpenTelemetry propagators read and write W3C trace
// context (traceparent, tracestate) in NATS message headers.
//
// NATS header names are case-sensitive; Set writes the names the propagator
// gives (lowercase for W3C), and Get falls back to a case-insensitive match
// so that a client in another language that capitalised the name is still
// understood.
type HeaderCarrier nats.Header

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the first value of key.
func (h HeaderCarrier) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range h {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set replaces the values of key with value.
func (h HeaderCarrier) Set(key, value string) {
	h[key] = []string{value}
}

// Keys lists the header names.
func (h HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// InjectTrace writes the trace context of ctx into h. It does nothing when
// ctx carries no valid span, so untraced publishes pay nothing.
func InjectTrace(ctx context.Context, h nats.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagation.TraceContext{}.Inject(ctx, HeaderCarrier(h))
}

// ExtractTrace returns parent with the remote span context found in h, if
// any, so that spans started from it continue the publisher's trace.
func ExtractTrace(parent context.Context, h nats.Header) context.Context {
	if len(h) == 0 {
		return parent
	}
	return propagation.TraceContext{}.Extract(parent, HeaderCarrier(h))
}

// traceHeader returns a header holding the trace context of ctx, or nil
// when ctx carries no valid span.
func traceHeader(ctx context.Context) nats.Header {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	h := make(nats.Header, 2)
	propagation.TraceContext{}.Inject(ctx, HeaderCarrier(h))
	return h
}
