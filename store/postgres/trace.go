package postgres

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// echoTracer logs every statement when Options.Echo is on, the equivalent of
// SQLAlchemy's echo=True behind the seed's DB_ECHO. It logs the statement
// text and never its arguments: those carry password hashes and user data.
// Besides single queries it covers batches and COPY, which the hot path
// uses through Pool.
type echoTracer struct{ log *slog.Logger }

// echoKey carries a statement's start from the Start hook to the End hook.
type echoKey struct{}

type echoStart struct {
	sql   string
	start time.Time
}

var (
	_ pgx.QueryTracer    = echoTracer{}
	_ pgx.BatchTracer    = echoTracer{}
	_ pgx.CopyFromTracer = echoTracer{}
)

// TraceQueryStart remembers the statement and when it began.
func (e echoTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, echoKey{}, echoStart{sql: d.SQL, start: time.Now()})
}

// TraceQueryEnd logs the statement with its duration and outcome.
func (e echoTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	e.end(ctx, "sql", d.CommandTag.String(), d.Err)
}

// TraceBatchStart remembers when the batch began.
func (e echoTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	return context.WithValue(ctx, echoKey{}, echoStart{sql: "batch", start: time.Now()})
}

// TraceBatchQuery logs one statement of a batch.
func (e echoTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	attrs := []slog.Attr{slog.String("sql", d.SQL), slog.String("command", d.CommandTag.String())}
	if d.Err != nil {
		attrs = append(attrs, slog.String("error", d.Err.Error()))
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "sql batch statement", attrs...)
}

// TraceBatchEnd logs the end of a batch.
func (e echoTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	e.end(ctx, "sql batch", "", d.Err)
}

// TraceCopyFromStart remembers the table and when the copy began.
func (e echoTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromStartData) context.Context {
	return context.WithValue(ctx, echoKey{}, echoStart{sql: "COPY " + d.TableName.Sanitize(), start: time.Now()})
}

// TraceCopyFromEnd logs the copy with its duration and outcome.
func (e echoTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromEndData) {
	e.end(ctx, "sql copy", d.CommandTag.String(), d.Err)
}

func (e echoTracer) end(ctx context.Context, msg, command string, err error) {
	s, _ := ctx.Value(echoKey{}).(echoStart)
	attrs := []slog.Attr{slog.String("sql", s.sql), slog.Duration("duration", time.Since(s.start))}
	if command != "" {
		attrs = append(attrs, slog.String("command", command))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, msg, attrs...)
}
