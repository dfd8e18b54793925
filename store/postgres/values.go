package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// params collects positional arguments for a statement built from optional
// parts (filters, the fields of an update) and hands out their placeholders.
// The SQLite backend has the same type with "?" placeholders.
type params []any

// add appends v and returns its placeholder.
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// validID reports whether id can be a key. Columns are UUIDs, so anything
// else cannot name a record: lookups answer store.ErrNotFound without asking
// the server, which would reject the text as invalid input.
func validID(id string) bool {
	return uuid.Validate(id) == nil
}

// uuidArg is id, a valid UUID (validID), as a uuid parameter: pgx writes it
// in binary, where a string is first tried in binary, refused, and then
// sent as text.
func uuidArg(id string) pgtype.UUID {
	return pgtype.UUID{Bytes: uuid.MustParse(id), Valid: true}
}

// nullableUUID is uuidArg for an optional reference: SQL NULL where id is
// empty. id, when set, must be valid (validID).
func nullableUUID(id string) pgtype.UUID {
	if id == "" {
		return pgtype.UUID{}
	}
	return uuidArg(id)
}

// canonicalID is id, a valid UUID in any of its spellings, as PostgreSQL
// prints it.
func canonicalID(id string) string {
	u, err := uuid.Parse(id)
	if err != nil {
		return id
	}
	return u.String()
}

// nullable maps the empty string to SQL NULL: the Go records use "" for an
// optional reference or text the seed schema leaves NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullableText is nullable for an element of an array parameter (refs).
func nullableText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// textArg is s as an element of a text array parameter (refs).
func textArg(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

// timeArg is t as an element of a timestamptz array parameter (refs).
func timeArg(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }

// refs is a slice passed as an array parameter whose elements pgx reads
// through pointers. T is a pgtype value (pgtype.Text, pgtype.UUID,
// pgtype.Int8, pgtype.Timestamptz, ...), whose pointer pgx encodes through
// its codec's valuer interface. A plain slice costs more: pgx reads a
// []string, []int64 or []time.Time as a FlatArray, whose Index boxes each
// element (an allocation apiece), and a slice of any other type element by
// element through reflection (BenchmarkFinishBatch: 9.4 allocations a task
// before, docs/performance.md step 28). A nil refs is SQL NULL.
type refs[T any] []T

// Dimensions implements pgtype.ArrayGetter: one dimension, none when nil.
func (a refs[T]) Dimensions() []pgtype.ArrayDimension {
	if a == nil {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(len(a)), LowerBound: 1}}
}

// Index implements pgtype.ArrayGetter.
func (a refs[T]) Index(i int) any { return &a[i] }

// IndexType implements pgtype.ArrayGetter.
func (a refs[T]) IndexType() any { return new(T) }

// jsonArg passes raw JSON to a JSONB column, nil and empty as SQL NULL.
func jsonArg(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return []byte(raw)
}

// jsonValue turns a scanned JSONB column into a RawMessage, SQL NULL into nil.
func jsonValue(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

// capabilitiesArg encodes capabilities as a JSON array, nil as [].
func capabilitiesArg(caps []string) ([]byte, error) {
	if caps == nil {
		caps = []string{}
	}
	b, err := json.Marshal(caps)
	if err != nil {
		return nil, fmt.Errorf("encode capabilities: %w", err)
	}
	return b, nil
}

// capabilitiesValue decodes a capabilities array, always to a non-nil slice
// so that it encodes as [] rather than null.
func capabilitiesValue(b []byte) ([]string, error) {
	caps := []string{}
	if len(b) == 0 {
		return caps, nil
	}
	if err := json.Unmarshal(b, &caps); err != nil {
		return nil, fmt.Errorf("decode capabilities: %w", err)
	}
	if caps == nil {
		caps = []string{}
	}
	return caps, nil
}

// collect scans every row with scan and closes rows. The result is never
// nil, so an empty list encodes as [] rather than null.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	return pgx.AppendRows(make([]T, 0), rows, func(row pgx.CollectableRow) (T, error) {
		return scan(row)
	})
}
