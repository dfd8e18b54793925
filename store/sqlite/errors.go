package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ymera/ymera/store"
)

// translate turns a driver error into one that errors.Is matches against the
// store sentinels, keeping the driver error in the chain for logs. SQLite's
// messages name the constraint's columns and never carry statement text or
// argument values.
//
//   - no rows: store.ErrNotFound;
//   - unique or primary key violation: store.ErrConflict;
//   - foreign key violation: store.ErrConflict, because the record refers to
//     one that does not exist, or a delete would orphan others (as on
//     PostgreSQL);
//   - the file locked by another process past the busy timeout, or not
//     openable: store.ErrUnavailable, the caller may retry.
//
// The caller's own cancellation or deadline is returned as it is.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrUnavailable):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, sql.ErrConnDone):
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch code := sqliteErr.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE,
			code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
			code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case code&0xff == sqlite3.SQLITE_BUSY, // extended codes keep the primary one in the low byte
			code&0xff == sqlite3.SQLITE_LOCKED,
			code&0xff == sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	return err
}
