package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ymera/ymera/store"
)

// translate turns a pgx error into one that errors.Is matches against the
// store sentinels, keeping the driver error in the chain for logs. The
// driver error names constraints and SQLSTATEs and never carries statement
// text (a server message can quote an offending value, so it is for logs,
// not for clients).
//
//   - no rows: store.ErrNotFound;
//   - unique violation (23505): store.ErrConflict;
//   - foreign key violation (23503): store.ErrConflict, because the record
//     refers to one that does not exist, or a delete would orphan others;
//   - a connection that cannot be made, broke, or was shut down by the
//     server: store.ErrUnavailable, the caller may retry.
//
// The caller's own cancellation or deadline is returned as it is: the
// database did nothing wrong.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrUnavailable):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "23505", code == "23503":
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", code == "57P02", code == "57P03", // admin, crash shutdown; cannot connect now
			code == "53300": // too many connections
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err means the server could not be reached or
// the connection broke, as opposed to the server rejecting a statement.
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err)
}
