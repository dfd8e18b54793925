package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
)

var nextLink = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// TestPagination walks three pages with the cursor, both from the Link
// header and from X-Next-Cursor, and checks that filters carry over.
func TestPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, _ := b.register(t, "mia")
	other, _ := b.register(t, "ned")
	b.submit(t, other, task("not mine"))

	var want []string // newest first
	for i := range 7 {
		body := task(fmt.Sprintf("t%d", i))
		body["priority"] = "high"
		want = slices.Insert(want, 0, b.submit(t, token, body))
	}
	b.submit(t, token, map[string]any{"name": "low one", "task_type": "security_scan", "priority": "low"})

	page := func(path string) (ids []string, link, cursor string) {
		t.Helper()
		r := b.do(t, req{method: "GET", path: path, token: token}).wantStatus(t, http.StatusOK)
		var items []map[string]any
		must(t, json.Unmarshal(r.body, &items))
		for _, it := range items {
			ids = append(ids, it["id"].(string))
		}
		return ids, r.header.Get("Link"), r.header.Get("X-Next-Cursor")
	}

	// Follow the Link header.
	var got []string
	path := "/tasks?priority=high&limit=3"
	for n := 1; ; n++ {
		ids, link, cursor := page(path)
		got = append(got, ids...)
		if n < 3 {
			if len(ids) != 3 {
				t.Fatalf("page %d has %d tasks, want 3", n, len(ids))
			}
			m := nextLink.FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("page %d: Link %q", n, link)
			}
			u, err := url.Parse(m[1])
			must(t, err)
			if q := u.Query(); u.Path != "/tasks" || q.Get("cursor") != cursor || q.Get("priority") != "high" || q.Get("limit") != "3" {
				t.Fatalf("page %d: next link %q, cursor %q", n, m[1], cursor)
			}
			path = m[1]
			continue
		}
		if len(ids) != 1 || link != "" || cursor != "" {
			t.Fatalf("last page: %d tasks, Link %q, X-Next-Cursor %q", len(ids), link, cursor)
		}
		break
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages gave\n%v\nwant newest first\n%v", got, want)
	}

	// Follow X-Next-Cursor by hand.
	got = got[:0]
	cursor := ""
	for range 3 {
		q := url.Values{"priority": {"high"}, "limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var ids []string
		ids, _, cursor = page("/tasks?" + q.Encode())
		got = append(got, ids...)
	}
	if !slices.Equal(got, want) || cursor != "" {
		t.Fatalf("X-Next-Cursor pages gave %v (cursor %q), want %v", got, cursor, want)
	}

	// Default page size covers everything here; filters combine.
	if ids, link, _ := page("/tasks"); len(ids) != 8 || link != "" {
		t.Errorf("default page: %d tasks, Link %q", len(ids), link)
	}
	if ids, _, _ := page("/tasks?priority=low&status=pending&task_type=security_scan"); len(ids) != 1 {
		t.Errorf("filtered list: %v", ids)
	}
	if ids, _, _ := page("/tasks?task_type=documentation_check"); len(ids) != 0 {
		t.Errorf("filtered list: %v", ids)
	}
	// An empty list is [], not null.
	if r := b.do(t, req{method: "GET", path: "/tasks?status=completed", token: token}); string(r.body) != "[]\n" && string(r.body) != "[]" {
		t.Errorf("empty list body %q", r.body)
	}
}
