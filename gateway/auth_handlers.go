package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ymera/ymera/store"
)

// userGetter is what refreshing a token needs of the user store.
type userGetter interface {
	Get(ctx context.Context, id string) (store.User, error)
}

// notForServiceKeys refuses an operation on a session to a caller
// authenticated by a service key, which has no session: it is revoked by an
// admin, and exchanging it for a token would outlive that revocation.
func notForServiceKeys(p principal) *Problem {
	if p.ServiceKeyID == "" {
		return nil
	}
	return newProblem(http.StatusForbidden, "a service key has no session: it cannot be refreshed or logged out; an admin revokes it")
}

// handleRefresh issues a new token for the caller, with the role the store
// holds now. The token presented stays valid until it expires or is logged
// out. The account is read again, so a deactivated user cannot extend a
// session.
func handleRefresh(log *slog.Logger, users userGetter, tok *tokens) func(context.Context, *struct{}) (*tokenOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*tokenOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := notForServiceKeys(who); p != nil {
			return nil, p
		}
		u, err := users.Get(ctx, who.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, unauthorized("the account no longer exists", true)
		}
		if err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		if !u.IsActive {
			return nil, unauthorized("the account is deactivated", true)
		}
		return issueToken(ctx, log, tok, u)
	}
}

// logoutOutput is the empty 204 of POST /auth/logout.
type logoutOutput struct{}

// handleLogout revokes the token presented, until it would have expired
// anyway; other tokens of the same user stay valid.
func handleLogout(log *slog.Logger, deny Denylist) func(context.Context, *struct{}) (*logoutOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*logoutOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := notForServiceKeys(who); p != nil {
			return nil, p
		}
		until := who.ExpiresAt.Add(tokenLeeway)
		if err := deny.Revoke(ctx, tokenDenyKey(who.TokenID), until); err != nil {
			return nil, problemFor(ctx, log, fmt.Errorf("gateway: revoke token: %w: %w", store.ErrUnavailable, err), details{})
		}
		return &logoutOutput{}, nil
	}
}
