package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ymera/ymera/store"
)

// projectFields are the seed's project columns as the API shows them.
var projectFields = []string{"id", "name", "description", "repository_url", "status", "config", "owner_id", "created_at", "updated_at"}

func seedProject() map[string]any {
	return map[string]any{
		"name":           "Payments service",
		"description":    "REST API for payments",
		"repository_url": "https://github.com/acme/payments",
		"config":         map[string]any{"language": "go"},
	}
}

// createProject creates a project through the API and returns it.
func (b *bundle) createProject(t testing.TB, token string, body map[string]any) map[string]any {
	t.Helper()
	return b.do(t, req{method: "POST", path: "/projects", body: body, token: token}).wantStatus(t, http.StatusCreated).object(t)
}

// TestProjectLifecycle creates, reads, lists, changes and deletes a project
// and checks each response's shape.
func TestProjectLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, userID := b.register(t, "pam")

	created := b.createProject(t, token, seedProject())
	wantKeys(t, "POST /projects", created, projectFields...)
	id := wantUUID(t, "id", created["id"])
	if created["name"] != "Payments service" || created["description"] != "REST API for payments" ||
		created["repository_url"] != "https://github.com/acme/payments" || created["status"] != "active" || created["owner_id"] != userID {
		t.Errorf("POST /projects = %v", created)
	}
	if cfg, _ := created["config"].(map[string]any); cfg["language"] != "go" {
		t.Errorf("config = %v", created["config"])
	}
	wantTime(t, "created_at", created["created_at"])

	got := b.do(t, req{method: "GET", path: "/projects/" + id, token: token}).wantStatus(t, http.StatusOK).object(t)
	if !equalJSON(got, created) {
		t.Errorf("GET /projects/{id} =\n%v\nwant what POST answered\n%v", got, created)
	}
	items := list(t, b.do(t, req{method: "GET", path: "/projects", token: token}).wantStatus(t, http.StatusOK))
	if len(items) != 1 || !equalJSON(items[0], created) {
		t.Errorf("GET /projects = %v", items)
	}

	patched := b.do(t, req{method: "PATCH", path: "/projects/" + id, token: token, body: map[string]any{
		"status": "archived", "repository_url": "", "description": "retired",
	}}).wantStatus(t, http.StatusOK).object(t)
	if patched["status"] != "archived" || patched["repository_url"] != "" || patched["description"] != "retired" || patched["name"] != "Payments service" {
		t.Errorf("after PATCH: %v", patched)
	}

	b.do(t, req{method: "DELETE", path: "/projects/" + id, token: token}).wantStatus(t, http.StatusNoContent)
	b.do(t, req{method: "GET", path: "/projects/" + id, token: token}).problem(t, http.StatusNotFound, "https://ymera.dev/problems/not-found")
}

// TestProjectSearchAndPages: q matches words of the name; pages follow the
// Link header and keep q.
func TestProjectSearchAndPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, _ := b.register(t, "quin")
	other, _ := b.register(t, "rex")
	b.createProject(t, other, map[string]any{"name": "billing other"})

	var want []string
	for i := range 5 {
		want = append(want, b.createProject(t, token, map[string]any{"name": fmt.Sprintf("billing %d", i)})["id"].(string))
	}
	b.createProject(t, token, map[string]any{"name": "unrelated"})

	var got []string
	path := "/projects?q=billing&limit=2"
	for n := 1; n <= 4; n++ {
		r := b.do(t, req{method: "GET", path: path, token: token}).wantStatus(t, http.StatusOK)
		for _, it := range list(t, r) {
			got = append(got, it["id"].(string))
		}
		m := nextLink.FindStringSubmatch(r.header.Get("Link"))
		if m == nil {
			break
		}
		u, err := url.Parse(m[1])
		must(t, err)
		if q := u.Query(); u.Path != "/projects" || q.Get("q") != "billing" || q.Get("cursor") != r.header.Get("X-Next-Cursor") {
			t.Fatalf("page %d: next link %q", n, m[1])
		}
		path = m[1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("search gave\n%v\nwant\n%v", got, want)
	}
	if items := list(t, b.do(t, req{method: "GET", path: "/projects?q=nothing-matches", token: token}).wantStatus(t, http.StatusOK)); len(items) != 0 {
		t.Fatalf("search for nothing gave %v", items)
	}
}

// TestProjectBadInput: invalid URLs, statuses and pages are 400 problems
// that name the value.
func TestProjectBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, _ := b.register(t, "sam")
	id := b.createProject(t, token, seedProject())["id"].(string)

	withField := func(k string, v any) map[string]any { m := seedProject(); m[k] = v; return m }
	cases := []struct {
		name         string
		method, path string
		body         any
		mention      string
	}{
		{"ftp URL", "POST", "/projects", withField("repository_url", "ftp://example.com/repo"), "ftp"},
		{"relative URL", "POST", "/projects", withField("repository_url", "acme/payments"), "acme/payments"},
		{"scp-like address", "POST", "/projects", withField("repository_url", "git@github.com:acme/payments.git"), "git@github.com"},
		{"javascript URL", "POST", "/projects", withField("repository_url", "javascript:alert(1)"), "javascript"},
		{"URL with a password", "POST", "/projects", withField("repository_url", "https://bob:hunter2@github.com/acme/x"), "password"},
		{"URL too long", "POST", "/projects", withField("repository_url", "https://h/"+strings.Repeat("x", 500)), "repository_url"},
		{"bad status", "POST", "/projects", withField("status", "deleted"), "deleted"},
		{"empty name", "POST", "/projects", withField("name", ""), "name"},
		{"config not an object", "POST", "/projects", withField("config", "x"), "config"},
		{"malformed JSON", "POST", "/projects", `{"name":`, "body"},
		{"PATCH bad status", "PATCH", "/projects/" + id, map[string]any{"status": "gone"}, "gone"},
		{"PATCH bad URL", "PATCH", "/projects/" + id, map[string]any{"repository_url": "file:///etc/passwd"}, "file"},
		{"PATCH malformed JSON", "PATCH", "/projects/" + id, `[`, "body"},
		{"limit too big", "GET", "/projects?limit=100000", nil, "100000"},
		{"garbage cursor", "GET", "/projects?cursor=abc", nil, "cursor"},
		{"q too long", "GET", "/projects?q=" + strings.Repeat("q", 201), nil, "q"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.do(t, req{method: c.method, path: c.path, body: c.body, token: token}).
				problem(t, http.StatusBadRequest, "https://ymera.dev/problems/validation")
			d, _ := p["detail"].(string)
			if !strings.Contains(d, c.mention) {
				t.Errorf("detail %q does not mention %q", d, c.mention)
			}
			if strings.Contains(d, "hunter2") {
				t.Errorf("detail %q echoes a password", d)
			}
		})
	}
	// Every scheme the API promises is accepted.
	for _, u := range []string{"http://git.local/r", "https://github.com/a/b", "git://example.com/r.git", "ssh://git@github.com/a/b.git", ""} {
		b.do(t, req{method: "PATCH", path: "/projects/" + id, body: map[string]any{"repository_url": u}, token: token}).wantStatus(t, http.StatusOK)
	}
}

// TestProjectDeleteConflict: a project with submissions is kept, with a 409.
func TestProjectDeleteConflict(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token, userID := b.register(t, "tia")
	id := b.createProject(t, token, seedProject())["id"].(string)
	must(t, b.db.Submissions().Create(context.Background(), store.Submission{
		ID: uuid.Must(uuid.NewV7()).String(), ProjectID: id, UserID: userID, Code: "print(1)",
	}))
	p := b.do(t, req{method: "DELETE", path: "/projects/" + id, token: token}).problem(t, http.StatusConflict, "https://ymera.dev/problems/conflict")
	if d, _ := p["detail"].(string); !strings.Contains(d, "submissions") {
		t.Errorf("detail %q should say what refers to the project", d)
	}
	b.do(t, req{method: "GET", path: "/projects/" + id, token: token}).wantStatus(t, http.StatusOK)
}
