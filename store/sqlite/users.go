package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/ymera/ymera/store"
)

// users implements store.Users.
type users struct{ db *DB }

// userColumns is what scanUser reads, in order.
const userColumns = `id, username, email, hashed_password, COALESCE(first_name, ''),
	COALESCE(last_name, ''), role, is_active, created_at, updated_at, last_login`

func scanUser(row scanner) (store.User, error) {
	var u store.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.HashedPassword, &u.FirstName,
		&u.LastName, &u.Role, &u.IsActive, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt}, nullTimeCol{&u.LastLogin})
	return u, err
}

// Create stores u. An empty role is the seed's default, "user"; zero
// timestamps are set to now.
func (r users) Create(ctx context.Context, u store.User) error {
	if u.Role == "" {
		u.Role = store.RoleUser
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = r.db.now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	_, err := r.db.write.ExecContext(ctx, `INSERT INTO users (id, username, email, hashed_password,
		first_name, last_name, role, is_active, created_at, updated_at, last_login)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.Username, u.Email, u.HashedPassword, nullable(u.FirstName),
		nullable(u.LastName), u.Role, u.IsActive, timeArg(u.CreatedAt), timeArg(u.UpdatedAt), nullTimeArg(u.LastLogin))
	if err != nil {
		return fmt.Errorf("store: create user %s: %w", u.Username, translate(err))
	}
	return nil
}

// Get returns the user with id.
func (r users) Get(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(r.db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("store: get user %s: %w", id, translate(err))
	}
	return u, nil
}

// GetByUsername returns the user called username.
func (r users) GetByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(r.db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if err != nil {
		return store.User{}, fmt.Errorf("store: get user %q: %w", username, translate(err))
	}
	return u, nil
}

// List returns users by id, after the cursor.
func (r users) List(ctx context.Context, after string, limit int) ([]store.User, error) {
	var p params
	var conds []string
	if after != "" {
		if !validID(after) {
			return nil, fmt.Errorf("store: list users: cursor %q is not a user id", after)
		}
		conds = append(conds, "id > "+p.add(after))
	}
	rows, err := r.db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users`+store.Where(conds)+
		` ORDER BY id LIMIT `+p.add(store.Limit(limit)), p...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", translate(err))
	}
	list, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", translate(err))
	}
	return list, nil
}

// Update applies the non-nil fields of upd in one statement.
func (r users) Update(ctx context.Context, id string, upd store.UserUpdate) (store.User, error) {
	var p params
	var set []string
	if upd.Email != nil {
		set = append(set, "email = "+p.add(*upd.Email))
	}
	if upd.HashedPassword != nil {
		set = append(set, "hashed_password = "+p.add(*upd.HashedPassword))
	}
	if upd.FirstName != nil {
		set = append(set, "first_name = "+p.add(*upd.FirstName))
	}
	if upd.LastName != nil {
		set = append(set, "last_name = "+p.add(*upd.LastName))
	}
	if upd.Role != nil {
		set = append(set, "role = "+p.add(*upd.Role))
	}
	if upd.IsActive != nil {
		set = append(set, "is_active = "+p.add(*upd.IsActive))
	}
	if upd.LastLogin != nil {
		set = append(set, "last_login = "+p.add(timeArg(*upd.LastLogin)))
	}
	set = append(set, "updated_at = "+p.add(timeArg(r.db.now())))
	u, err := scanUser(r.db.write.QueryRowContext(ctx, `UPDATE users SET `+strings.Join(set, ", ")+
		` WHERE id = `+p.add(id)+` RETURNING `+userColumns, p...))
	if err != nil {
		return store.User{}, fmt.Errorf("store: update user %s: %w", id, translate(err))
	}
	return u, nil
}

// Count returns how many users exist.
func (r users) Count(ctx context.Context) (int, error) {
	var n int
	if err := r.db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", translate(err))
	}
	return n, nil
}
