package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/store"
)

// account is a user made outside the API.
type account struct {
	Username, Email, Password, Role string
	FirstName, LastName             string
}

// usernamePattern is POST /auth/register's rule for usernames.
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,50}$`)

// check applies the API's rules, so that an account made here could have
// been made by registering.
func (a account) check() error {
	switch {
	case !usernamePattern.MatchString(a.Username):
		return fmt.Errorf("username %q: 3 to 50 letters, digits, '_', '.' or '-'", a.Username)
	case len(a.Password) < 8 || len(a.Password) > 128:
		return errors.New("password: 8 to 128 characters")
	case a.Role != store.RoleUser && a.Role != store.RoleAdmin && a.Role != store.RoleService:
		return fmt.Errorf("role %q: one of user, admin, service", a.Role)
	}
	if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email || len(a.Email) > 255 {
		return fmt.Errorf("email %q: a plain address such as john@example.com", a.Email)
	}
	return nil
}

// createAccount hashes the password with the gateway's argon2id and stores
// the user. store.ErrConflict when the username or email is taken.
func createAccount(ctx context.Context, users store.Users, a account) (store.User, error) {
	if err := a.check(); err != nil {
		return store.User{}, err
	}
	hashed, err := gateway.HashPassword(ctx, a.Password, gateway.PasswordParams{})
	if err != nil {
		return store.User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.User{}, err
	}
	now := time.Now().UTC()
	u := store.User{ID: id.String(), Username: a.Username, Email: a.Email, HashedPassword: hashed,
		FirstName: a.FirstName, LastName: a.LastName, Role: a.Role, IsActive: true, CreatedAt: now, UpdatedAt: now}
	if err := users.Create(ctx, u); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// userCmd is `ymera user create`: how the first admin is made.
func userCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage accounts"}
	var a account
	create := &cobra.Command{
		Use:   "create --username U --email E [--password P] [--role user|admin|service]",
		Short: "Create an account, e.g. the first admin",
		Long: `create stores an account in the store that DATABASE_URL names (or the
embedded SQLite file in DATA_DIR), migrating it first. Without --password the
password is read from the first line of standard input, which keeps it out of
the process list and shell history:

  printf '%s\n' "$PASSWORD" | ymera user create --username root --email root@example.com --role admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("password") {
				p, err := readPassword(cmd.InOrStdin())
				if err != nil {
					return err
				}
				a.Password = p
			}
			if err := a.check(); err != nil {
				return fmt.Errorf("user create: %w", err)
			}
			cfg, err := loadConfig(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			log, closeLog, err := newLogger(cfg, e.stderr)
			if err != nil {
				return err
			}
			defer closeLog()
			ctx := cmd.Context()
			st, err := openStore(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := migrator(st).MigrateUp(ctx); err != nil {
				return fmt.Errorf("migrate %s store: %w", st.Backend(), err)
			}
			u, err := createAccount(ctx, st.Users(), a)
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("user create: the username %q or the email %q is taken", a.Username, a.Email)
			}
			if err != nil {
				return fmt.Errorf("user create: %w", err)
			}
			fmt.Fprintf(e.stdout, "created %s %s (%s)\n", u.Role, u.Username, u.ID)
			return nil
		},
	}
	f := create.Flags()
	f.StringVar(&a.Username, "username", "", "the account's username (required)")
	f.StringVar(&a.Email, "email", "", "the account's email (required)")
	f.StringVar(&a.Password, "password", "", "the password; omit it to read it from standard input")
	f.StringVar(&a.Role, "role", store.RoleUser, "user, admin or service")
	f.StringVar(&a.FirstName, "first-name", "", "first name")
	f.StringVar(&a.LastName, "last-name", "", "last name")
	_ = create.MarkFlagRequired("username")
	_ = create.MarkFlagRequired("email")
	addConfigFlags(f)
	cmd.AddCommand(create)
	return cmd
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("user create: read the password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("user create: no --password and nothing on standard input")
	}
	return line, nil
}
