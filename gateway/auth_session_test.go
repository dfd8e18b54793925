package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/store"
)

// TestRefresh: a fresh token of the login shape; the old one keeps working;
// a deactivated account cannot refresh.
func TestRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t)
	old, uid := b.register(t, "rita")

	resp := b.do(t, req{method: "POST", path: "/auth/refresh", token: old}).wantStatus(t, http.StatusOK)
	m := resp.object(t)
	wantKeys(t, "refresh response", m, "access_token", "token_type", "user_id")
	fresh, _ := m["access_token"].(string)
	if m["token_type"] != "bearer" || m["user_id"] != uid || fresh == "" || fresh == old {
		t.Fatalf("refresh answered %s", resp.body)
	}
	if decodeClaims(t, fresh)["jti"] == decodeClaims(t, old)["jti"] {
		t.Error("refreshed token reuses the jti")
	}
	b.do(t, req{method: "GET", path: "/tasks", token: old}).wantStatus(t, http.StatusOK)
	b.do(t, req{method: "GET", path: "/tasks", token: fresh}).wantStatus(t, http.StatusOK)

	// Without a token: the usual 401.
	b.do(t, req{method: "POST", path: "/auth/refresh"}).problem(t, http.StatusUnauthorized, "https://ymera.dev/problems/unauthorized")

	// Deactivated behind the API's back (no denylist entry): refresh reads the
	// account and refuses.
	off := false
	_, err := b.db.Users().Update(context.Background(), uid, store.UserUpdate{IsActive: &off})
	must(t, err)
	b.do(t, req{method: "POST", path: "/auth/refresh", token: fresh}).problem(t, http.StatusUnauthorized, "https://ymera.dev/problems/unauthorized")
}

// TestLogout runs against the NATS denylist: the token presented is
// refused from then on, on this and any other replica; the user's other
// tokens are not.
func TestLogout(t *testing.T) {
	t.Parallel()
	nc := natsDenylist(t)
	b := setup(t, withNATSDenylist(nc))
	replica := setup(t, withNATSDenylist(nc)) // another gateway sharing the denylist, not the database
	t1, _ := b.register(t, "sam")
	t2 := b.login(t, "sam", "SecurePass123!")

	resp := b.do(t, req{method: "POST", path: "/auth/logout", token: t1})
	resp.wantStatus(t, http.StatusNoContent)
	if len(resp.body) != 0 {
		t.Errorf("logout body %q, want none", resp.body)
	}
	jti := decodeClaims(t, t1)["jti"].(string)
	if ok, err := nc.Revoked(context.Background(), "jti."+jti); err != nil || !ok {
		t.Fatalf("jti not in the NATS denylist: %v, %v", ok, err)
	}

	for _, srv := range []*bundle{b, replica} {
		r := srv.do(t, req{method: "GET", path: "/tasks", token: t1})
		p := r.problem(t, http.StatusUnauthorized, "https://ymera.dev/problems/unauthorized")
		if !strings.Contains(p["detail"].(string), "revoked") {
			t.Errorf("detail %q", p["detail"])
		}
		if ch := r.header.Get("WWW-Authenticate"); !strings.Contains(ch, "invalid_token") {
			t.Errorf("WWW-Authenticate %q", ch)
		}
	}
	b.do(t, req{method: "POST", path: "/auth/logout", token: t1}).wantStatus(t, http.StatusUnauthorized)
	b.do(t, req{method: "POST", path: "/auth/refresh", token: t1}).wantStatus(t, http.StatusUnauthorized)
	b.do(t, req{method: "GET", path: "/tasks", token: t2}).wantStatus(t, http.StatusOK)
}

// TestLogoutWatchedDenylist: gateways that read the denylist from memory
// (transport.DenylistView, what "ymera serve" runs) refuse a logged-out
// token at once on the gateway that took the logout, and on another as soon
// as the watch brings the revocation (a bounded wait, no claim on speed).
func TestLogoutWatchedDenylist(t *testing.T) {
	t.Parallel()
	nc := natsDenylist(t)
	b := setup(t, withNATSDenylist(watchedDenylist(t, nc)))
	replica := setup(t, withNATSDenylist(watchedDenylist(t, nc)))
	tok, _ := b.register(t, "vera")
	other := b.login(t, "vera", "SecurePass123!")
	replica.do(t, req{method: "GET", path: "/tasks", token: tok}).wantStatus(t, http.StatusOK)

	b.do(t, req{method: "POST", path: "/auth/logout", token: tok}).wantStatus(t, http.StatusNoContent)
	b.do(t, req{method: "GET", path: "/tasks", token: tok}).wantStatus(t, http.StatusUnauthorized)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := replica.do(t, req{method: "GET", path: "/tasks", token: tok})
		if r.status == http.StatusUnauthorized {
			break
		}
		r.wantStatus(t, http.StatusOK) // not yet delivered; never an error
		if time.Now().After(deadline) {
			t.Fatal("the replica still accepts the logged-out token")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.do(t, req{method: "GET", path: "/tasks", token: other}).wantStatus(t, http.StatusOK)
	replica.do(t, req{method: "GET", path: "/tasks", token: other}).wantStatus(t, http.StatusOK)
}

// TestDenylistUnavailable: when the denylist cannot be read, a token is
// refused with 503, never let through.
func TestDenylistUnavailable(t *testing.T) {
	t.Parallel()
	nc := natsDenylist(t)
	b := setup(t, withNATSDenylist(nc))
	tok, _ := b.register(t, "tess")
	b.do(t, req{method: "GET", path: "/tasks", token: tok}).wantStatus(t, http.StatusOK)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = nc.Close(ctx)
	r := b.do(t, req{method: "GET", path: "/tasks", token: tok})
	r.problem(t, http.StatusServiceUnavailable, "https://ymera.dev/problems/unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}
