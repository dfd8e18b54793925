package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
)

// Agents and projects are listed in id order (ids are UUIDv7, so oldest
// first) with the same opaque cursor as GET /tasks: encodeCursor of the last
// id of the page, sent in X-Next-Cursor and in a Link rel="next" header.

// pageOf trims items, fetched with a limit of limit+1, to one page. When the
// extra item came back there is a next page, and next is its cursor and
// link: the same query with the new cursor.
func pageOf[T any](items []T, limit int, id func(T) string, path string, q url.Values) (page []T, cursor, link string) {
	if len(items) <= limit {
		return items, "", ""
	}
	items = items[:limit]
	cursor = encodeCursor(id(items[len(items)-1]))
	q.Set("limit", strconv.Itoa(limit))
	q.Set("cursor", cursor)
	return items, cursor, fmt.Sprintf("<%s?%s>; rel=\"next\"", path, q.Encode())
}

// pageStart decodes an optional cursor into the id a listing resumes
// after; a cursor that is not one of ours is a 400 naming it.
func pageStart(cursor string) (string, *Problem) {
	if cursor == "" {
		return "", nil
	}
	after, ok := decodeCursor(cursor)
	if !ok {
		return "", validationProblem("query.cursor", "expected a cursor from a previous page's X-Next-Cursor", cursor)
	}
	return after, nil
}

// pageLimit is the page size asked for, or the default.
func pageLimit(n int) int {
	if n <= 0 {
		return defaultPageSize
	}
	return n
}

// listing is one page of an id-ordered listing, ready for a list output.
type listing[V any] struct {
	Body         []V
	Cursor, Link string
}

// listPage runs a paged listing the same way for every resource: it decodes
// the cursor, fetches one more item than the page holds (to know whether a
// next page exists), and turns the page into views.
func listPage[T, V any](ctx context.Context, log *slog.Logger, cursor string, limit int, path string, q url.Values,
	fetch func(after string, limit int) ([]T, error), id func(T) string, view func(T) V) (listing[V], error) {
	after, p := pageStart(cursor)
	if p != nil {
		return listing[V]{}, p
	}
	limit = pageLimit(limit)
	items, err := fetch(after, limit+1)
	if err != nil {
		return listing[V]{}, problemFor(ctx, log, err, details{})
	}
	page, next, link := pageOf(items, limit, id, path, q)
	out := listing[V]{Body: make([]V, 0, len(page)), Cursor: next, Link: link}
	for _, it := range page {
		out.Body = append(out.Body, view(it))
	}
	return out, nil
}
