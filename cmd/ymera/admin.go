package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ymera/ymera/store"
)

// ensureAdmin creates the administrator ADMIN_USERNAME/ADMIN_PASSWORD name,
// at start, unless a user of that name exists: an existing account, whatever
// its role or password, is left alone (and a warning says so when it is not
// an admin), so that restarting never resets a password that was changed
// through the API. The email is a placeholder the admin may change with
// PATCH /users/me.
func ensureAdmin(ctx context.Context, users store.Users, cfg AdminConfig, log *slog.Logger) error {
	if cfg.Username == "" {
		return nil
	}
	u, err := users.GetByUsername(ctx, cfg.Username)
	switch {
	case err == nil:
		if u.Role != store.RoleAdmin {
			log.Warn("ADMIN_USERNAME names an existing account that is not an admin; left unchanged",
				"username", u.Username, "role", u.Role)
		}
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("first admin: %w", err)
	}
	u, err = createAccount(ctx, users, account{
		Username: cfg.Username, Password: cfg.Password, Role: store.RoleAdmin,
		Email: cfg.Username + "@admin.ymera.invalid",
	})
	if errors.Is(err, store.ErrConflict) {
		// Another replica created it between our read and our write.
		return nil
	}
	if err != nil {
		return fmt.Errorf("first admin (ADMIN_USERNAME): %w", err)
	}
	log.Info("created the first admin from ADMIN_USERNAME", "username", u.Username, "user_id", u.ID)
	return nil
}
