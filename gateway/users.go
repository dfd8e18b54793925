package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/store"
)

// userCreator is what registration needs of the user store.
type userCreator interface {
	Create(ctx context.Context, u store.User) error
}

// userLogin is what login needs of the user store.
type userLogin interface {
	GetByUsername(ctx context.Context, username string) (store.User, error)
	Update(ctx context.Context, id string, upd store.UserUpdate) (store.User, error)
}

// tokenResponse answers a registration or a login (the seed's shape).
type tokenResponse struct {
	AccessToken string `json:"access_token" example:"eyJhbGc..." doc:"JWT to send as 'Authorization: Bearer <token>'"`
	TokenType   string `json:"token_type" enum:"bearer" example:"bearer" doc:"Always 'bearer'"`
	UserID      string `json:"user_id" format:"uuid" example:"0190a7e4-5b6c-7d8e-9f00-0123456789ab"`
}

type tokenOutput struct {
	Body tokenResponse
}

// registerRequest is a new account. Unknown fields are ignored; in
// particular a "role" is never honoured: every account starts as a user.
type registerRequest struct {
	_         struct{} `json:"-" additionalProperties:"true"`
	Username  string   `json:"username" minLength:"3" maxLength:"50" pattern:"^[A-Za-z0-9_.-]+$" patternDescription:"letters, digits, '_', '.' and '-'" example:"john_doe"`
	Email     string   `json:"email" maxLength:"255" format:"email" example:"john@example.com"`
	Password  string   `json:"password" minLength:"8" maxLength:"128" example:"SecurePass123!"`
	FirstName string   `json:"first_name,omitempty" maxLength:"100" example:"John"`
	LastName  string   `json:"last_name,omitempty" maxLength:"100" example:"Doe"`
}

type registerInput struct {
	Body registerRequest
}

// handleRegister creates an account with the role "user" and logs it in.
func handleRegister(log *slog.Logger, users userCreator, pw *passwords, tok *tokens, now func() time.Time) func(context.Context, *registerInput) (*tokenOutput, error) {
	return func(ctx context.Context, in *registerInput) (*tokenOutput, error) {
		r := in.Body
		if !plausibleEmail(r.Email) {
			return nil, validationProblem("body.email", "expected a plain email address such as john@example.com", r.Email)
		}
		hashed, err := pw.hash(ctx, r.Password)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, problemFor(ctx, log, fmt.Errorf("gateway: user id: %w", err), details{})
		}
		at := now().UTC()
		u := store.User{
			ID:             id.String(),
			Username:       r.Username,
			Email:          r.Email,
			HashedPassword: hashed,
			FirstName:      r.FirstName,
			LastName:       r.LastName,
			Role:           store.RoleUser,
			IsActive:       true,
			CreatedAt:      at,
			UpdatedAt:      at,
		}
		if err := users.Create(ctx, u); err != nil {
			return nil, problemFor(ctx, log, err, details{conflict: "an account with that username or email already exists"})
		}
		return issueToken(ctx, log, tok, u)
	}
}

// plausibleEmail accepts what net/mail parses as a bare address; it rejects
// display-name forms such as "John <john@example.com>".
func plausibleEmail(s string) bool {
	if len(s) > 255 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// loginRequest are a user's credentials.
type loginRequest struct {
	_        struct{} `json:"-" additionalProperties:"true"`
	Username string   `json:"username" minLength:"1" maxLength:"50" example:"john_doe"`
	Password string   `json:"password" minLength:"1" maxLength:"128" example:"SecurePass123!"`
}

type loginInput struct {
	Body loginRequest
}

// badCredentials is the one answer to every failed login: unknown user,
// wrong password or inactive account cannot be told apart.
func badCredentials() *Problem {
	return newProblem(http.StatusUnauthorized, "the username or password is incorrect").
		withHeader("WWW-Authenticate", `Bearer realm="ymera"`)
}

// handleLogin checks credentials and issues a token. An unknown username
// costs a verification against a dummy hash, so that response time does not
// reveal which usernames exist; an inactive account is checked only after
// the password, for the same reason.
func handleLogin(log *slog.Logger, users userLogin, pw *passwords, tok *tokens, now func() time.Time) func(context.Context, *loginInput) (*tokenOutput, error) {
	return func(ctx context.Context, in *loginInput) (*tokenOutput, error) {
		r := in.Body
		u, err := users.GetByUsername(ctx, r.Username)
		if errors.Is(err, store.ErrNotFound) {
			if err := pw.verifyDummy(ctx, r.Password); err != nil {
				return nil, problemFor(ctx, log, err, details{})
			}
			return nil, badCredentials()
		}
		if err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		ok, rehash, err := pw.verify(ctx, r.Password, u.HashedPassword)
		if err != nil {
			return nil, problemFor(ctx, log, fmt.Errorf("user %s: %w", u.ID, err), details{})
		}
		if !ok || !u.IsActive {
			return nil, badCredentials()
		}

		at := now().UTC()
		upd := store.UserUpdate{LastLogin: &at}
		if rehash {
			// The hash predates the current parameters: upgrade it while we
			// hold the plaintext.
			if h, err := pw.hash(ctx, r.Password); err == nil {
				upd.HashedPassword = &h
			}
		}
		if _, err := users.Update(ctx, u.ID, upd); err != nil {
			// last_login is bookkeeping: failing to record it must not lock
			// the user out.
			log.WarnContext(ctx, "gateway: record last login", "request_id", requestIDFrom(ctx), "user_id", u.ID, "err", err)
		}
		return issueToken(ctx, log, tok, u)
	}
}

// issueToken answers with a fresh token for u.
func issueToken(ctx context.Context, log *slog.Logger, tok *tokens, u store.User) (*tokenOutput, error) {
	t, err := tok.issue(u.ID, u.Role)
	if err != nil {
		return nil, problemFor(ctx, log, err, details{})
	}
	return &tokenOutput{Body: tokenResponse{AccessToken: t, TokenType: "bearer", UserID: u.ID}}, nil
}
