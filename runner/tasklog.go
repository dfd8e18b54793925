package runner

import (
	"context"
	"log/slog"
)

// taskLogger returns log with a task's attributes, added to a record only
// when one is logged. slog's With formats the attributes into the handler
// at once, for every task, though most tasks log nothing: that was 1.3 %
// of a busy node's CPU.
func taskLogger(log *slog.Logger, attrs ...slog.Attr) *slog.Logger {
	return slog.New(&lateAttrs{h: log.Handler(), attrs: attrs})
}

// lateAttrs is a slog.Handler that keeps attributes given to it and adds
// them, ahead of a record's own, to each record it passes on.
type lateAttrs struct {
	h     slog.Handler
	attrs []slog.Attr
}

func (l *lateAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l *lateAttrs) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(l.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return l.h.Handle(ctx, out)
}

func (l *lateAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lateAttrs{h: l.h, attrs: append(l.attrs[:len(l.attrs):len(l.attrs)], attrs...)}
}

// WithGroup hands the kept attributes to the handler first: they belong
// outside the group.
func (l *lateAttrs) WithGroup(name string) slog.Handler {
	return l.h.WithAttrs(l.attrs).WithGroup(name)
}
