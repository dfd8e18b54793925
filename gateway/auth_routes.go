package gateway

import (
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// authRoutes registers the session, account and service-key operations.
// docs/security.md has who may call each.
func (s *Server) authRoutes() {
	o, api := s.opts, s.api
	authErrors := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}
	adminErrors := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}

	huma.Register(api, huma.Operation{OperationID: "refresh-token", Method: http.MethodPost, Path: "/auth/refresh",
		Summary: "Exchange a valid access token for a fresh one", Tags: []string{"auth"}, Security: bearer,
		Description: "The token presented stays valid until it expires or is logged out. Not for service keys.",
		Errors:      authErrors},
		handleRefresh(s.log, o.Users, s.tokens))
	huma.Register(api, huma.Operation{OperationID: "logout", Method: http.MethodPost, Path: "/auth/logout",
		Summary: "Revoke the access token presented", Tags: []string{"auth"}, Security: bearer,
		DefaultStatus: http.StatusNoContent, Errors: authErrors},
		handleLogout(s.log, o.Denylist))

	huma.Register(api, huma.Operation{OperationID: "get-me", Method: http.MethodGet, Path: "/users/me",
		Summary: "Get your own account", Tags: []string{"users"}, Security: bearer,
		Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleGetMe(s.log, o.Users))
	huma.Register(api, huma.Operation{OperationID: "update-me", Method: http.MethodPatch, Path: "/users/me",
		Summary: "Change your names, email or password", Tags: []string{"users"}, Security: bearer,
		MaxBodyBytes: authBodyLimit,
		Errors:       []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusServiceUnavailable}},
		handleUpdateMe(s.log, o.Users, s.passwords, o.Denylist, s.tokens))
	huma.Register(api, huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/users",
		Summary: "List every account (admins only)", Tags: []string{"users"}, Security: bearer,
		Errors: adminErrors},
		handleListUsers(s.log, o.Users))
	huma.Register(api, huma.Operation{OperationID: "update-user", Method: http.MethodPatch, Path: "/users/{user_id}",
		Summary: "Change an account's role or active flag (admins only)", Tags: []string{"users"}, Security: bearer,
		Description:  "Deactivating an account or changing its role revokes every token it holds.",
		MaxBodyBytes: authBodyLimit,
		Errors:       slices.Concat(adminErrors, []int{http.StatusNotFound, http.StatusConflict})},
		handleUpdateUser(s.log, o.Users, o.Denylist, s.tokens))

	if o.ServiceKeys == nil {
		return
	}
	huma.Register(api, huma.Operation{OperationID: "create-service-key", Method: http.MethodPost, Path: "/admin/service-keys",
		Summary: "Issue a service key (admins only); the key is shown once", Tags: []string{"admin"}, Security: bearer,
		DefaultStatus: http.StatusCreated, MaxBodyBytes: authBodyLimit,
		Errors: slices.Concat(adminErrors, []int{http.StatusConflict})},
		handleCreateServiceKey(s.log, o.Users, o.ServiceKeys, s.passwords, s.now))
	huma.Register(api, huma.Operation{OperationID: "list-service-keys", Method: http.MethodGet, Path: "/admin/service-keys",
		Summary: "List service keys, never the keys themselves (admins only)", Tags: []string{"admin"}, Security: bearer,
		Errors: adminErrors},
		handleListServiceKeys(s.log, o.ServiceKeys))
	huma.Register(api, huma.Operation{OperationID: "revoke-service-key", Method: http.MethodDelete, Path: "/admin/service-keys/{key_id}",
		Summary: "Revoke a service key (admins only)", Tags: []string{"admin"}, Security: bearer,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable}},
		handleRevokeServiceKey(s.log, o.ServiceKeys, s.now))
}

// newAuthenticator assembles the authenticate middleware's dependencies.
func (s *Server) newAuthenticator() *authenticator {
	a := &authenticator{tokens: s.tokens, deny: s.opts.Denylist, log: s.log}
	if s.opts.ServiceKeys != nil {
		a.keys = &serviceKeyAuth{keys: s.opts.ServiceKeys, users: s.opts.Users, now: s.now, log: s.log}
	}
	return a
}

// defaultDenylist is the denylist New uses when Options.Denylist is nil.
func defaultDenylist(log *slog.Logger, now func() time.Time) Denylist {
	log.Warn("gateway: no Denylist given; logouts and revocations are kept in memory, lost at restart and not shared with other replicas")
	return newMemDenylist(now)
}
