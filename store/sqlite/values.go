package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// params collects positional arguments for a statement built from optional
// parts (filters, the fields of an update) and hands out their placeholders.
// SQLite accepts PostgreSQL's $N placeholders, so the statements of the two
// backends differ only where the dialects do.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan and closes rows. The result is never
// nil, so an empty list encodes as [] rather than null.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	list := make([]T, 0)
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// nullable maps the empty string to SQL NULL: the Go records use "" for an
// optional reference or text the seed schema leaves NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// timeFormat is how timestamps are stored: UTC, fixed width, microseconds.
// Fixed width makes text order time order, so created_at < $1 and ORDER BY
// created_at work on the strings; microseconds are what PostgreSQL keeps, so
// both backends read back the same time.Time for what was written.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// timeArg formats t for storage.
func timeArg(t time.Time) string { return t.UTC().Format(timeFormat) }

// nullTimeArg formats t for storage, nil as SQL NULL.
func nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeArg(*t)
}

// timeCol scans a stored timestamp into a time.Time in UTC.
type timeCol struct{ dst *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	t, err := parseTime(src)
	if err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("timestamp is NULL")
	}
	*c.dst = *t
	return nil
}

// nullTimeCol scans a nullable stored timestamp, NULL as nil.
type nullTimeCol struct{ dst **time.Time }

// Scan implements sql.Scanner.
func (c nullTimeCol) Scan(src any) error {
	t, err := parseTime(src)
	if err != nil {
		return err
	}
	*c.dst = t
	return nil
}

func parseTime(src any) (*time.Time, error) {
	var s string
	switch v := src.(type) {
	case nil:
		return nil, nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return nil, fmt.Errorf("timestamp stored as %T", src)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fmt.Errorf("timestamp %q: %w", s, err)
	}
	t = t.UTC()
	return &t, nil
}

// jsonArg passes raw JSON as TEXT (never BLOB, which SQLite would take for
// its binary JSONB format), nil and empty as SQL NULL.
func jsonArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

// jsonCol scans a JSON TEXT column into a RawMessage, SQL NULL as nil.
type jsonCol struct{ dst *json.RawMessage }

// Scan implements sql.Scanner.
func (c jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = nil
	case string:
		*c.dst = json.RawMessage(v)
	case []byte:
		*c.dst = append(json.RawMessage(nil), v...)
	default:
		return fmt.Errorf("JSON stored as %T", src)
	}
	return nil
}

// capabilitiesArg encodes capabilities as a JSON array, nil as [].
func capabilitiesArg(caps []string) (string, error) {
	if caps == nil {
		caps = []string{}
	}
	b, err := json.Marshal(caps)
	if err != nil {
		return "", fmt.Errorf("encode capabilities: %w", err)
	}
	return string(b), nil
}

// capabilitiesValue decodes a capabilities array, always to a non-nil slice
// so that it encodes as [] rather than null.
func capabilitiesValue(raw json.RawMessage) ([]string, error) {
	caps := []string{}
	if len(raw) == 0 {
		return caps, nil
	}
	if err := json.Unmarshal(raw, &caps); err != nil {
		return nil, fmt.Errorf("decode capabilities: %w", err)
	}
	if caps == nil {
		caps = []string{}
	}
	return caps, nil
}

// validID reports whether id can be a cursor. Ids are UUID text here too, so
// that a cursor means the same on both backends.
func validID(id string) bool {
	return uuid.Validate(id) == nil
}
