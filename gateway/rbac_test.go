package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ymera/ymera/store"
)

// withRole registers an account, gives it role in the store and logs it in
// again, since the role travels in the token.
func (b *bundle) withRole(t testing.TB, username, role string) string {
	t.Helper()
	_, id := b.register(t, username)
	if _, err := b.db.Users().Update(context.Background(), id, store.UserUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	return b.login(t, username, "SecurePass123!")
}

// ownedRoute is one operation on a single agent or project; {id} stands for
// the object's id.
type ownedRoute struct {
	method, path string
	body         any
}

func (r ownedRoute) on(id, token string) req {
	return req{method: r.method, path: strings.ReplaceAll(r.path, "{id}", id), body: r.body, token: token}
}

var (
	agentRoutes = []ownedRoute{
		{"GET", "/agents/{id}", nil},
		{"PATCH", "/agents/{id}", map[string]any{"name": "taken over"}},
		{"POST", "/agents/{id}/heartbeat", map[string]any{"status": "active"}},
		{"DELETE", "/agents/{id}", nil},
	}
	projectRoutes = []ownedRoute{
		{"GET", "/projects/{id}", nil},
		{"PATCH", "/projects/{id}", map[string]any{"name": "taken over"}},
		{"DELETE", "/projects/{id}", nil},
	}
)

// TestResourceOwnership is the security suite of agents and projects: another
// user's object answers exactly like a missing one, admins reach
// everything, a service account may only heartbeat, and lists hold only
// one's own objects.
func TestResourceOwnership(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice, _ := b.register(t, "alice")
	bob, _ := b.register(t, "bob")
	admin := b.admin(t, "root")
	service := b.withRole(t, "svc", store.RoleService)

	agentID := b.createAgent(t, alice, seedAgent())
	projectID := b.createProject(t, alice, seedProject())["id"].(string)
	absent := uuid.Must(uuid.NewV7()).String()

	// notFoundLike checks that r is the very 404 a missing object gets.
	notFoundLike := func(t *testing.T, route ownedRoute, id string, r response) {
		t.Helper()
		r.problem(t, http.StatusNotFound, "https://ymera.dev/problems/not-found")
		missing := b.do(t, route.on(absent, bob)).wantStatus(t, http.StatusNotFound)
		if got, want := strings.ReplaceAll(string(r.body), id, "ID"), strings.ReplaceAll(string(missing.body), absent, "ID"); got != want {
			t.Errorf("another's object answers\n%s\na missing one\n%s", got, want)
		}
	}

	for _, c := range []struct {
		kind   string
		id     string
		routes []ownedRoute
	}{{"agent", agentID, agentRoutes}, {"project", projectID, projectRoutes}} {
		for _, route := range c.routes {
			t.Run("other user "+route.method+" "+route.path, func(t *testing.T) {
				notFoundLike(t, route, c.id, b.do(t, route.on(c.id, bob)))
			})
			t.Run("malformed id "+route.method+" "+route.path, func(t *testing.T) {
				notFoundLike(t, route, "not-a-uuid", b.do(t, route.on("not-a-uuid", alice)))
			})
			t.Run("anonymous "+route.method+" "+route.path, func(t *testing.T) {
				r := b.do(t, route.on(c.id, ""))
				r.problem(t, http.StatusUnauthorized, "https://ymera.dev/problems/unauthorized")
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
			})
		}
	}

	// The service account: heartbeats any agent, sees none.
	b.do(t, agentRoutes[2].on(agentID, service)).wantStatus(t, http.StatusOK)
	for _, route := range []ownedRoute{agentRoutes[0], agentRoutes[1], agentRoutes[3], projectRoutes[0], projectRoutes[1], projectRoutes[2]} {
		id := agentID
		if strings.HasPrefix(route.path, "/projects") {
			id = projectID
		}
		notFoundLike(t, route, id, b.do(t, route.on(id, service)))
	}

	// Lists are per owner; an admin's holds everyone's.
	for _, path := range []string{"/agents", "/projects"} {
		for who, want := range map[string]int{bob: 0, service: 0, alice: 1, admin: 1} {
			if n := len(list(t, b.do(t, req{method: "GET", path: path, token: who}).wantStatus(t, http.StatusOK))); n != want {
				t.Errorf("GET %s: %d items, want %d", path, n, want)
			}
		}
	}

	// Nothing refused above changed anything.
	a := b.do(t, req{method: "GET", path: "/agents/" + agentID, token: alice}).wantStatus(t, http.StatusOK).object(t)
	p := b.do(t, req{method: "GET", path: "/projects/" + projectID, token: alice}).wantStatus(t, http.StatusOK).object(t)
	if a["name"] != "My Coding Agent" || p["name"] != "Payments service" {
		t.Fatalf("refused requests changed objects: %v, %v", a, p)
	}

	// An admin reads, changes and deletes another user's objects.
	for _, c := range []struct {
		id     string
		routes []ownedRoute
	}{{agentID, agentRoutes}, {projectID, projectRoutes}} {
		for _, route := range c.routes {
			want := http.StatusOK
			if route.method == "DELETE" {
				want = http.StatusNoContent
			}
			b.do(t, route.on(c.id, admin)).wantStatus(t, want)
		}
	}
}
