package runner

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestTaskLoggerWritesAsWith: a task logger's lines are those slog's With
// writes, groups and later attributes included.
func TestTaskLoggerWritesAsWith(t *testing.T) {
	var want, got bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	base := func(b *bytes.Buffer) *slog.Logger { return slog.New(slog.NewJSONHandler(b, opts)) }
	with := base(&want).With("task_id", "t1", "lease", int64(7))
	late := taskLogger(base(&got), slog.String("task_id", "t1"), slog.Int64("lease", 7))
	for _, l := range []*slog.Logger{with, late} {
		l.Info("plain", "error", "boom")
		l.With("agent_id", "a1").Warn("more attrs", "n", 2)
		l.WithGroup("g").Info("grouped", "k", "v")
		l.Debug("not enabled")
	}
	if want.String() != got.String() {
		t.Errorf("task logger wrote\n%s\nslog.With wrote\n%s", got.String(), want.String())
	}
	if !strings.Contains(got.String(), `"g":{"k":"v"}`) || strings.Count(got.String(), "\n") != 3 {
		t.Errorf("unexpected lines:\n%s", got.String())
	}
}
