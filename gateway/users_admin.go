package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ymera/ymera/store"
)

// userView is an account as the API shows it: the seed's GET /users/me
// shape plus the role. The password hash never leaves the store.
type userView struct {
	ID        string    `json:"id" format:"uuid" example:"0190a7e4-5b6c-7d8e-9f00-0123456789ab"`
	Username  string    `json:"username" example:"john_doe"`
	Email     string    `json:"email" example:"john@example.com"`
	FirstName string    `json:"first_name" example:"John"`
	LastName  string    `json:"last_name" example:"Doe"`
	IsActive  bool      `json:"is_active" example:"true"`
	CreatedAt time.Time `json:"created_at" example:"2024-01-16T12:00:00Z"`
	Role      string    `json:"role" enum:"user,admin,service" example:"user"`
}

func viewOf(u store.User) userView {
	return userView{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName,
		LastName: u.LastName, IsActive: u.IsActive, CreatedAt: u.CreatedAt.UTC(), Role: u.Role}
}

type userOutput struct {
	Body userView
}

// requireAdmin is the 403 of a non-admin on an admin operation. A service
// key is never an admin.
func requireAdmin(p principal) *Problem {
	if p.Role == store.RoleAdmin && p.ServiceKeyID == "" {
		return nil
	}
	return newProblem(http.StatusForbidden, "this operation requires the admin role")
}

// revokeUser refuses every token of the user issued until now, for as long
// as such a token could still be accepted. It runs before the change that
// motivates it: if it fails nothing has changed and the client may retry.
func revokeUser(ctx context.Context, log *slog.Logger, deny Denylist, tok *tokens, userID string) *Problem {
	if err := deny.Revoke(ctx, userDenyKey(userID), tok.now().Add(tok.maxLifetime())); err != nil {
		return problemFor(ctx, log, fmt.Errorf("gateway: revoke tokens of %s: %w: %w", userID, store.ErrUnavailable, err), details{})
	}
	return nil
}

// handleGetMe shows the caller's own account; a service key's is its
// service user.
func handleGetMe(log *slog.Logger, users userGetter) func(context.Context, *struct{}) (*userOutput, error) {
	return func(ctx context.Context, _ *struct{}) (*userOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		u, err := users.Get(ctx, who.UserID)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{notFound: "your account no longer exists"})
		}
		return &userOutput{Body: viewOf(u)}, nil
	}
}

// updateMeRequest changes the caller's names, email or password. Unknown
// fields (a "role", a misspelt "password") are refused, not ignored: a
// PATCH that silently does less than asked is worse than a 400.
type updateMeRequest struct {
	_           struct{} `json:"-" additionalProperties:"false"`
	FirstName   *string  `json:"first_name,omitempty" maxLength:"100" example:"John"`
	LastName    *string  `json:"last_name,omitempty" maxLength:"100" example:"Doe"`
	Email       *string  `json:"email,omitempty" maxLength:"255" format:"email" example:"john@example.com"`
	OldPassword string   `json:"old_password,omitempty" maxLength:"128" doc:"The current password; required with new_password"`
	NewPassword string   `json:"new_password,omitempty" minLength:"8" maxLength:"128" doc:"Changing the password revokes every token issued so far, this one included"`
}

type updateMeInput struct {
	Body updateMeRequest
}

// userUpdater is what changing an account needs of the user store.
type userUpdater interface {
	userGetter
	Update(ctx context.Context, id string, upd store.UserUpdate) (store.User, error)
}

// handleUpdateMe changes the caller's own account. A password change needs
// the current password (verified with argon2id, like a login) and revokes
// every token issued so far: whoever else holds one is logged out.
func handleUpdateMe(log *slog.Logger, users userUpdater, pw *passwords, deny Denylist, tok *tokens) func(context.Context, *updateMeInput) (*userOutput, error) {
	return func(ctx context.Context, in *updateMeInput) (*userOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if who.Role == store.RoleService {
			return nil, newProblem(http.StatusForbidden, "a service account's details are managed by admins")
		}
		r := in.Body
		upd := store.UserUpdate{FirstName: r.FirstName, LastName: r.LastName, Email: r.Email}
		if r.Email != nil && !plausibleEmail(*r.Email) {
			return nil, validationProblem("body.email", "expected a plain email address such as john@example.com", *r.Email)
		}
		if r.OldPassword != "" && r.NewPassword == "" {
			return nil, validationProblem("body.new_password", "old_password is only used to change the password: give new_password too", nil)
		}
		if r.NewPassword != "" {
			if r.OldPassword == "" {
				return nil, validationProblem("body.old_password", "changing the password requires the current one", nil)
			}
			u, err := users.Get(ctx, who.UserID)
			if err != nil {
				return nil, problemFor(ctx, log, err, details{notFound: "your account no longer exists"})
			}
			ok, _, err := pw.verify(ctx, r.OldPassword, u.HashedPassword)
			if err != nil {
				return nil, problemFor(ctx, log, fmt.Errorf("user %s: %w", u.ID, err), details{})
			}
			if !ok {
				return nil, validationProblem("body.old_password", "does not match the current password", nil)
			}
			h, err := pw.hash(ctx, r.NewPassword)
			if err != nil {
				return nil, problemFor(ctx, log, err, details{})
			}
			upd.HashedPassword = &h
			if p := revokeUser(ctx, log, deny, tok, who.UserID); p != nil {
				return nil, p
			}
		}
		u, err := users.Update(ctx, who.UserID, upd)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{
				notFound: "your account no longer exists",
				conflict: "another account already uses that email",
			})
		}
		return &userOutput{Body: viewOf(u)}, nil
	}
}

// listUsersInput pages GET /users, like GET /tasks.
type listUsersInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"Page size; more than 100 is refused"`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where the page starts: the X-Next-Cursor of the previous page"`
}

type listUsersOutput struct {
	Link       string `header:"Link" doc:"<...>; rel=\"next\" when there is a next page"`
	NextCursor string `header:"X-Next-Cursor" doc:"The cursor of the next page, when there is one"`
	Body       []userView
}

// handleListUsers lists every account, oldest first, to an admin.
func handleListUsers(log *slog.Logger, users interface {
	List(ctx context.Context, after string, limit int) ([]store.User, error)
}) func(context.Context, *listUsersInput) (*listUsersOutput, error) {
	return func(ctx context.Context, in *listUsersInput) (*listUsersOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := requireAdmin(who); p != nil {
			return nil, p
		}
		l, err := listPage(ctx, log, in.Cursor, in.Limit, "/users", url.Values{},
			func(after string, limit int) ([]store.User, error) { return users.List(ctx, after, limit) },
			func(u store.User) string { return u.ID }, viewOf)
		if err != nil {
			return nil, err
		}
		return &listUsersOutput{NextCursor: l.Cursor, Link: l.Link, Body: l.Body}, nil
	}
}

// updateUserRequest is what an admin may change about an account.
type updateUserRequest struct {
	_        struct{} `json:"-" additionalProperties:"false"`
	Role     *string  `json:"role,omitempty" enum:"user,admin,service"`
	IsActive *bool    `json:"is_active,omitempty"`
}

type updateUserInput struct {
	UserID string `path:"user_id" doc:"The account's id, a UUID"`
	Body   updateUserRequest
}

// handleUpdateUser changes an account's role or active flag. Deactivating
// an account or changing its role revokes every token it holds (tokens
// carry the role), through the denylist: no database read is added to
// authentication. An admin cannot demote or deactivate themselves, so the
// last admin cannot lock everyone out.
func handleUpdateUser(log *slog.Logger, users userUpdater, deny Denylist, tok *tokens) func(context.Context, *updateUserInput) (*userOutput, error) {
	return func(ctx context.Context, in *updateUserInput) (*userOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := requireAdmin(who); p != nil {
			return nil, p
		}
		nf := details{notFound: fmt.Sprintf("user %q does not exist", truncate(in.UserID, 64))}
		id, ok := parseID(in.UserID)
		if !ok {
			return nil, problemFor(ctx, log, store.ErrNotFound, nf)
		}
		r := in.Body
		if id == who.UserID && ((r.Role != nil && *r.Role != store.RoleAdmin) || (r.IsActive != nil && !*r.IsActive)) {
			return nil, newProblem(http.StatusConflict, "an admin cannot demote or deactivate their own account; ask another admin")
		}
		u, err := users.Get(ctx, id)
		if err != nil {
			return nil, problemFor(ctx, log, err, nf)
		}
		roleChanged := r.Role != nil && *r.Role != u.Role
		deactivated := r.IsActive != nil && !*r.IsActive && u.IsActive
		if roleChanged || deactivated {
			if p := revokeUser(ctx, log, deny, tok, id); p != nil {
				return nil, p
			}
		}
		u, err = users.Update(ctx, id, store.UserUpdate{Role: r.Role, IsActive: r.IsActive})
		if err != nil {
			return nil, problemFor(ctx, log, err, nf)
		}
		return &userOutput{Body: viewOf(u)}, nil
	}
}
