package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ymera/ymera/store"
)

// TestServiceKeys: an admin issues a key, shown once; it authenticates as
// its service user (Bearer or X-API-Key), may submit and read its own tasks
// and nothing about users; revoked, it is refused.
func TestServiceKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.admin(t, "keymaster")
	userTok, _ := b.register(t, "zoe")

	// Only admins issue, list and revoke.
	b.do(t, req{method: "POST", path: "/admin/service-keys", token: userTok, body: map[string]any{"name": "ci"}}).
		problem(t, http.StatusForbidden, problemForbidden)
	b.do(t, req{method: "GET", path: "/admin/service-keys", token: userTok}).problem(t, http.StatusForbidden, problemForbidden)
	b.do(t, req{method: "DELETE", path: "/admin/service-keys/0190a000-0000-7000-8000-000000000001", token: userTok}).
		problem(t, http.StatusForbidden, problemForbidden)

	resp := b.do(t, req{method: "POST", path: "/admin/service-keys", token: admin, body: map[string]any{"name": "ci"}}).
		wantStatus(t, http.StatusCreated)
	created := resp.object(t)
	wantKeys(t, "issued key", created, "id", "name", "key", "owner_id", "created_at")
	key, _ := created["key"].(string)
	if !strings.HasPrefix(key, "ymk_") || len(key) < 40 || created["name"] != "ci" {
		t.Fatalf("issued %v", created)
	}

	// The key is never shown again, nor stored in clear.
	list := b.do(t, req{method: "GET", path: "/admin/service-keys", token: admin}).wantStatus(t, http.StatusOK)
	if strings.Contains(string(list.body), key) || strings.Contains(string(list.body), key[4:]) {
		t.Fatal("GET /admin/service-keys shows the key")
	}
	var listed []map[string]any
	decodeJSON(t, list.body, &listed)
	if len(listed) != 1 || listed[0]["id"] != created["id"] || listed[0]["revoked_at"] != nil {
		t.Fatalf("listed %v", listed)
	}
	stored, err := b.db.ServiceKeys().Get(context.Background(), created["id"].(string))
	must(t, err)
	if strings.Contains(stored.KeyHash, key[4:]) || len(stored.KeyHash) != 64 {
		t.Errorf("stored hash %q", stored.KeyHash)
	}

	// It acts as the service user svc-ci, by either header.
	me := b.do(t, req{method: "GET", path: "/users/me", token: key}).wantStatus(t, http.StatusOK).object(t)
	if me["username"] != "svc-ci" || me["role"] != "service" || me["id"] != created["owner_id"] {
		t.Errorf("GET /users/me with the key: %v", me)
	}
	viaHeader := req{method: "POST", path: "/tasks", body: task("from ci"), header: map[string]string{"X-API-Key": key}}
	tm := b.do(t, viaHeader).wantStatus(t, http.StatusCreated).object(t)
	got, err := b.db.Tasks().Get(context.Background(), tm["task_id"].(string))
	must(t, err)
	if got.UserID != created["owner_id"] {
		t.Errorf("task owned by %s, want the service user %s", got.UserID, created["owner_id"])
	}
	b.do(t, req{method: "GET", path: "/tasks/" + got.ID, token: key}).wantStatus(t, http.StatusOK)
	// ... and nothing about users, no session to refresh or log out.
	b.do(t, req{method: "GET", path: "/users", token: key}).problem(t, http.StatusForbidden, problemForbidden)
	b.do(t, req{method: "PATCH", path: "/users/me", token: key, body: map[string]any{"first_name": "x"}}).
		problem(t, http.StatusForbidden, problemForbidden)
	b.do(t, req{method: "POST", path: "/admin/service-keys", token: key, body: map[string]any{"name": "more"}}).
		problem(t, http.StatusForbidden, problemForbidden)
	b.do(t, req{method: "POST", path: "/auth/refresh", token: key}).problem(t, http.StatusForbidden, problemForbidden)
	b.do(t, req{method: "POST", path: "/auth/logout", token: key}).problem(t, http.StatusForbidden, problemForbidden)
	// Nobody can log in as the service user.
	b.do(t, req{method: "POST", path: "/auth/login", body: map[string]any{"username": "svc-ci", "password": "SecurePass123!"}}).
		problem(t, http.StatusUnauthorized, problemUnauth)

	// A second key of the same name is the same service user (rotation).
	second := b.do(t, req{method: "POST", path: "/admin/service-keys", token: admin, body: map[string]any{"name": "ci"}}).
		wantStatus(t, http.StatusCreated).object(t)
	if second["owner_id"] != created["owner_id"] || second["key"] == key {
		t.Errorf("second key %v", second)
	}

	// Revoked: refused at once; revoking again is fine; unknown ids are 404.
	b.do(t, req{method: "DELETE", path: "/admin/service-keys/" + created["id"].(string), token: admin}).wantStatus(t, http.StatusNoContent)
	r := b.do(t, req{method: "GET", path: "/users/me", token: key})
	r.problem(t, http.StatusUnauthorized, problemUnauth)
	if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
		t.Errorf("WWW-Authenticate %q", ch)
	}
	b.do(t, req{method: "DELETE", path: "/admin/service-keys/" + created["id"].(string), token: admin}).wantStatus(t, http.StatusNoContent)
	b.do(t, req{method: "DELETE", path: "/admin/service-keys/0190a000-0000-7000-8000-000000000001", token: admin}).
		problem(t, http.StatusNotFound, problemNotFound)
	b.do(t, req{method: "DELETE", path: "/admin/service-keys/nope", token: admin}).problem(t, http.StatusNotFound, problemNotFound)
	b.do(t, req{method: "GET", path: "/users/me", token: second["key"].(string)}).wantStatus(t, http.StatusOK)

	// A deactivated service user's keys stop working.
	off := false
	_, err = b.db.Users().Update(context.Background(), created["owner_id"].(string), store.UserUpdate{IsActive: &off})
	must(t, err)
	b.do(t, req{method: "GET", path: "/users/me", token: second["key"].(string)}).problem(t, http.StatusUnauthorized, problemUnauth)
}

// TestServiceKeyRefusals: bad names and made-up keys.
func TestServiceKeyRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.admin(t, "warden")
	b.register(t, "svc-bob") // an ordinary user who took the name first

	for _, name := range []string{"", "Bad Name", "UPPER", "-lead", strings.Repeat("a", 41)} {
		r := b.do(t, req{method: "POST", path: "/admin/service-keys", token: admin, body: map[string]any{"name": name}})
		r.problem(t, http.StatusBadRequest, problemValidation)
		if !strings.Contains(string(r.body), "body.name") {
			t.Errorf("name %q: problem does not name body.name: %s", name, r.body)
		}
	}
	b.do(t, req{method: "POST", path: "/admin/service-keys", token: admin, body: map[string]any{"name": "bob"}}).
		problem(t, http.StatusConflict, problemConflict)

	for _, h := range []map[string]string{
		{"Authorization": "Bearer ymk_made-up"},
		{"Authorization": "Bearer ymk_" + strings.Repeat("x", 500)},
		{"X-API-Key": "ymk_made-up"},
		{"X-API-Key": "anything"},
	} {
		b.do(t, req{method: "GET", path: "/tasks", header: h}).problem(t, http.StatusUnauthorized, problemUnauth)
	}
}
