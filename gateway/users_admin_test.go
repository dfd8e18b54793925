package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	problemForbidden  = "https://ymera.dev/problems/forbidden"
	problemValidation = "https://ymera.dev/problems/validation"
	problemUnauth     = "https://ymera.dev/problems/unauthorized"
	problemNotFound   = "https://ymera.dev/problems/not-found"
	problemConflict   = "https://ymera.dev/problems/conflict"
)

// TestGetMe: the seed's shape, plus the role.
func TestGetMe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tok, uid := b.register(t, "uma")
	m := b.do(t, req{method: "GET", path: "/users/me", token: tok}).wantStatus(t, http.StatusOK).object(t)
	wantKeys(t, "GET /users/me", m, "id", "username", "email", "first_name", "last_name", "is_active", "created_at", "role")
	if m["id"] != uid || m["username"] != "uma" || m["email"] != "uma@example.com" || m["first_name"] != "Test" ||
		m["last_name"] != "User" || m["is_active"] != true || m["role"] != "user" {
		t.Errorf("GET /users/me = %v", m)
	}
	if _, err := time.Parse(time.RFC3339, m["created_at"].(string)); err != nil {
		t.Errorf("created_at: %v", err)
	}
	b.do(t, req{method: "GET", path: "/users/me"}).problem(t, http.StatusUnauthorized, problemUnauth)
}

// TestUpdateMe: names and email; a password change needs the old one and
// logs every session out.
func TestUpdateMe(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := setup(t, withClock(clk))
	tok, _ := b.register(t, "vera")
	b.register(t, "walt")

	m := b.do(t, req{method: "PATCH", path: "/users/me", token: tok, body: map[string]any{
		"first_name": "Vera", "last_name": "Lynn", "email": "vera@lynn.example",
	}}).wantStatus(t, http.StatusOK).object(t)
	if m["first_name"] != "Vera" || m["last_name"] != "Lynn" || m["email"] != "vera@lynn.example" || m["username"] != "vera" {
		t.Errorf("after PATCH: %v", m)
	}

	bad := []struct {
		name string
		body map[string]any
		want int
		typ  string
		at   string
	}{
		{"role is not changeable", map[string]any{"role": "admin"}, 400, problemValidation, "body.role"},
		{"unknown field", map[string]any{"password": "NewSecret123!"}, 400, problemValidation, "body.password"},
		{"bad email", map[string]any{"email": "Vera <v@x.example>"}, 400, problemValidation, "body.email"},
		{"taken email", map[string]any{"email": "walt@example.com"}, 409, problemConflict, ""},
		{"new without old", map[string]any{"new_password": "NewSecret123!"}, 400, problemValidation, "body.old_password"},
		{"old without new", map[string]any{"old_password": "SecurePass123!"}, 400, problemValidation, "body.new_password"},
		{"wrong old", map[string]any{"old_password": "wrong-password", "new_password": "NewSecret123!"}, 400, problemValidation, "body.old_password"},
		{"short new", map[string]any{"old_password": "SecurePass123!", "new_password": "short"}, 400, problemValidation, "body.new_password"},
	}
	for _, c := range bad {
		r := b.do(t, req{method: "PATCH", path: "/users/me", token: tok, body: c.body})
		p := r.problem(t, c.want, c.typ)
		if c.at != "" && !strings.Contains(string(r.body), c.at) {
			t.Errorf("%s: problem does not name %s: %v", c.name, c.at, p)
		}
		if strings.Contains(string(r.body), "wrong-password") || strings.Contains(string(r.body), "NewSecret") {
			t.Errorf("%s: problem echoes a password: %s", c.name, r.body)
		}
	}
	// Nothing was changed by the refused requests, the password included.
	b.login(t, "vera", "SecurePass123!")

	b.do(t, req{method: "PATCH", path: "/users/me", token: tok, body: map[string]any{
		"old_password": "SecurePass123!", "new_password": "NewSecret123!",
	}}).wantStatus(t, http.StatusOK)
	// Every token issued so far is revoked, the one used included.
	b.do(t, req{method: "GET", path: "/users/me", token: tok}).problem(t, http.StatusUnauthorized, problemUnauth)
	b.do(t, req{method: "POST", path: "/auth/login", body: map[string]any{"username": "vera", "password": "SecurePass123!"}}).
		problem(t, http.StatusUnauthorized, problemUnauth)
	clk.advance(2 * time.Second) // tokens of the revocation's second are refused too
	fresh := b.login(t, "vera", "NewSecret123!")
	b.do(t, req{method: "GET", path: "/users/me", token: fresh}).wantStatus(t, http.StatusOK)
}

// TestAdminUsers: GET /users and PATCH /users/{id} are for admins; a role
// change or deactivation revokes the account's tokens.
func TestAdminUsers(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := setup(t, withClock(clk))
	admin := b.admin(t, "root")
	adminID := decodeClaims(t, admin)["sub"].(string)
	userTok, uid := b.register(t, "xena")
	b.register(t, "yuri")

	// A user on an admin route: 403.
	b.do(t, req{method: "GET", path: "/users", token: userTok}).problem(t, http.StatusForbidden, problemForbidden)
	b.do(t, req{method: "PATCH", path: "/users/" + uid, token: userTok, body: map[string]any{"role": "admin"}}).
		problem(t, http.StatusForbidden, problemForbidden)

	// Paging, as GET /tasks.
	r := b.do(t, req{method: "GET", path: "/users?limit=2", token: admin}).wantStatus(t, http.StatusOK)
	var page []map[string]any
	decodeJSON(t, r.body, &page)
	if len(page) != 2 || r.header.Get("X-Next-Cursor") == "" || !strings.Contains(r.header.Get("Link"), `rel="next"`) {
		t.Fatalf("first page: %d users, headers %v", len(page), r.header)
	}
	wantKeys(t, "listed user", page[0], "id", "username", "email", "first_name", "last_name", "is_active", "created_at", "role")
	r = b.do(t, req{method: "GET", path: "/users?limit=2&cursor=" + r.header.Get("X-Next-Cursor"), token: admin}).wantStatus(t, http.StatusOK)
	var rest []map[string]any
	decodeJSON(t, r.body, &rest)
	if len(rest) != 1 || r.header.Get("X-Next-Cursor") != "" || rest[0]["id"] == page[0]["id"] || rest[0]["id"] == page[1]["id"] {
		t.Errorf("second page: %v, headers %v", rest, r.header)
	}
	b.do(t, req{method: "GET", path: "/users?limit=100000", token: admin}).problem(t, http.StatusBadRequest, problemValidation)
	b.do(t, req{method: "GET", path: "/users?cursor=nonsense", token: admin}).problem(t, http.StatusBadRequest, problemValidation)

	// Bad input names the bad value; unknown ids are 404.
	b.do(t, req{method: "PATCH", path: "/users/" + uid, token: admin, body: map[string]any{"role": "root"}}).
		problem(t, http.StatusBadRequest, problemValidation)
	b.do(t, req{method: "PATCH", path: "/users/not-a-uuid", token: admin, body: map[string]any{"role": "admin"}}).
		problem(t, http.StatusNotFound, problemNotFound)
	b.do(t, req{method: "PATCH", path: "/users/0190a000-0000-7000-8000-000000000001", token: admin, body: map[string]any{"role": "admin"}}).
		problem(t, http.StatusNotFound, problemNotFound)
	// An admin cannot lock themselves out.
	b.do(t, req{method: "PATCH", path: "/users/" + adminID, token: admin, body: map[string]any{"is_active": false}}).
		problem(t, http.StatusConflict, problemConflict)
	b.do(t, req{method: "PATCH", path: "/users/" + adminID, token: admin, body: map[string]any{"role": "user"}}).
		problem(t, http.StatusConflict, problemConflict)

	// Promotion revokes the old token (it says "user"); the next login says admin.
	m := b.do(t, req{method: "PATCH", path: "/users/" + uid, token: admin, body: map[string]any{"role": "admin"}}).
		wantStatus(t, http.StatusOK).object(t)
	if m["role"] != "admin" || m["id"] != uid {
		t.Errorf("after promotion: %v", m)
	}
	b.do(t, req{method: "GET", path: "/tasks", token: userTok}).problem(t, http.StatusUnauthorized, problemUnauth)
	clk.advance(2 * time.Second)
	promoted := b.login(t, "xena", "SecurePass123!")
	if decodeClaims(t, promoted)["role"] != "admin" {
		t.Errorf("role claim after promotion: %v", decodeClaims(t, promoted)["role"])
	}
	b.do(t, req{method: "GET", path: "/users", token: promoted}).wantStatus(t, http.StatusOK)

	// Deactivation: tokens stop working at once, login and refresh too.
	b.do(t, req{method: "PATCH", path: "/users/" + uid, token: admin, body: map[string]any{"is_active": false}}).
		wantStatus(t, http.StatusOK)
	b.do(t, req{method: "GET", path: "/users/me", token: promoted}).problem(t, http.StatusUnauthorized, problemUnauth)
	b.do(t, req{method: "POST", path: "/auth/refresh", token: promoted}).problem(t, http.StatusUnauthorized, problemUnauth)
	b.do(t, req{method: "POST", path: "/auth/login", body: map[string]any{"username": "xena", "password": "SecurePass123!"}}).
		problem(t, http.StatusUnauthorized, problemUnauth)

	// Reactivation lets the user log in again; the old tokens stay dead.
	clk.advance(2 * time.Second)
	b.do(t, req{method: "PATCH", path: "/users/" + uid, token: admin, body: map[string]any{"is_active": true}}).
		wantStatus(t, http.StatusOK)
	b.do(t, req{method: "GET", path: "/users/me", token: promoted}).problem(t, http.StatusUnauthorized, problemUnauth)
	again := b.login(t, "xena", "SecurePass123!")
	b.do(t, req{method: "GET", path: "/users/me", token: again}).wantStatus(t, http.StatusOK)
}
