package gateway

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/ymera/ymera/store"
)

// The ownership rules of agents and projects (docs/security.md has the
// whole matrix). Every owned object answers a caller who may not see it
// exactly as a missing one would: the same 404, the same body, so that ids
// cannot be probed.

// mayAccess reports whether p may see and change an object owned by
// ownerID: its owner, or an admin. An object without an owner (a built-in
// agent) is an admin's alone.
func (p principal) mayAccess(ownerID string) bool {
	return p.seesAll() || (ownerID != "" && ownerID == p.UserID)
}

// mayHeartbeat reports whether p may report the presence of an agent owned
// by ownerID. Besides the agent's owner and admins, any service account
// may: a service key identifies a deployment of agents, not the user who
// registered one, and a heartbeat changes nothing but status and
// last_heartbeat.
func (p principal) mayHeartbeat(ownerID string) bool {
	return p.mayAccess(ownerID) || p.Role == store.RoleService
}

// ownerFilter is the owner an owned list is restricted to: the caller's
// own id, or "" (everyone's) for an admin. ok is false when the caller owns
// nothing that could be listed (a principal without a user id, such as a
// service key not tied to an account): the list is then empty, never the
// unfiltered one that "" would select.
func (p principal) ownerFilter() (owner string, ok bool) {
	if p.seesAll() {
		return "", true
	}
	return p.UserID, p.UserID != ""
}

// parseID returns the canonical form of an object id from a path. ok is
// false when it is not a UUID: such an id names no object, and the caller
// answers 404 as for a missing one.
func parseID(raw string) (string, bool) {
	id, err := uuid.Parse(raw)
	if err != nil {
		return "", false
	}
	return id.String(), true
}

// loadOwned fetches the object with the raw path id through get and checks
// that who may access it with allowed. A malformed id, a missing object and
// an object allowed refuses all answer with the same 404 problem.
func loadOwned[T any](ctx context.Context, log *slog.Logger, kind, raw string,
	get func(context.Context, string) (T, error), owner func(T) string, allowed func(string) bool,
) (T, *Problem) {
	var zero T
	nf := details{notFound: fmt.Sprintf("%s %q does not exist", kind, truncate(raw, 64))}
	id, ok := parseID(raw)
	if !ok {
		return zero, problemFor(ctx, log, store.ErrNotFound, nf)
	}
	v, err := get(ctx, id)
	if err != nil {
		return zero, problemFor(ctx, log, err, nf)
	}
	if !allowed(owner(v)) {
		return zero, problemFor(ctx, log, store.ErrNotFound, nf)
	}
	return v, nil
}
