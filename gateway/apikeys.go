package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/store"
)

// Service keys are the credentials of the service role: agents and
// NATS-native services that call the API without a person behind them.
// An admin issues one with POST /admin/service-keys; its secret is shown in
// that response only. Each key acts as a service user (username
// "svc-<name>", role service, a password nobody knows), so the tasks it
// submits are owned by that user. Keys with the same name share the user,
// which lets an admin rotate a key without orphaning its tasks.

const (
	// serviceKeyPrefix starts every service key, so that a credential is
	// recognisably ours (secret scanners, logs) and never confused with a JWT.
	serviceKeyPrefix = "ymk_"
	// apiKeyHeader is the alternative to "Authorization: Bearer ymk_...".
	apiKeyHeader = "X-API-Key"
	// serviceKeyBytes of randomness: 256 bits.
	serviceKeyBytes = 32
	// serviceUserPrefix makes a key's name into its service user's name.
	serviceUserPrefix = "svc-"
	// touchEvery bounds how often last_used_at is written: one write per key
	// per minute, not one per request.
	touchEvery = time.Minute
)

// hashServiceKey is how a key is stored and looked up: hex SHA-256. A
// password needs a slow, salted hash (argon2id) because people choose
// guessable ones; a key is 256 random bits, so no guess can be checked
// faster than by brute force of the key itself, and a fast unsalted hash is
// both safe and what lets the key be found by an indexed lookup. The lookup
// is by hash, so its timing says nothing useful about the key.
func hashServiceKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// newServiceKey returns a fresh key: the prefix and 32 random bytes in
// unpadded base64url.
func newServiceKey() (string, error) {
	b := make([]byte, serviceKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("gateway: service key: %w", err)
	}
	return serviceKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// serviceKeyAuth authenticates service keys.
type serviceKeyAuth struct {
	keys  store.ServiceKeys
	users userGetter
	now   func() time.Time
	log   *slog.Logger
}

// checkServiceKey resolves a key to its service user. Unknown, revoked,
// and keys whose user is inactive or no longer a service user all get the
// same 401. This is two indexed reads per request, the price of a key that
// is revoked the moment an admin says so.
func (a *authenticator) checkServiceKey(ctx context.Context, key string) (principal, *Problem) {
	refused := unauthorized("the API key is not valid", true)
	if a.keys == nil {
		return principal{}, refused
	}
	s := a.keys
	if len(key) > 128 {
		return principal{}, refused
	}
	k, err := s.keys.GetByHash(ctx, hashServiceKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, refused
	}
	if err != nil {
		return principal{}, problemFor(ctx, s.log, err, details{})
	}
	if k.RevokedAt != nil {
		return principal{}, refused
	}
	u, err := s.users.Get(ctx, k.OwnerID)
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, refused
	}
	if err != nil {
		return principal{}, problemFor(ctx, s.log, err, details{})
	}
	if !u.IsActive || u.Role != store.RoleService {
		return principal{}, refused
	}
	if now := s.now(); k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery {
		if err := s.keys.Touch(ctx, k.ID, now.UTC()); err != nil {
			// Bookkeeping: it must not refuse the request.
			s.log.WarnContext(ctx, "gateway: record service key use", "request_id", requestIDFrom(ctx), "key_id", k.ID, "err", err)
		}
	}
	return principal{UserID: u.ID, Role: store.RoleService, ServiceKeyID: k.ID}, nil
}

// serviceKeyView is a key as listed: never the key itself.
type serviceKeyView struct {
	ID         string     `json:"id" format:"uuid"`
	Name       string     `json:"name" example:"ci-runner"`
	OwnerID    string     `json:"owner_id" format:"uuid" doc:"The service user the key acts as"`
	CreatedBy  string     `json:"created_by,omitempty" doc:"The admin who issued it"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at" doc:"When it was revoked; null while it works"`
	LastUsedAt *time.Time `json:"last_used_at" doc:"Last use, to the minute"`
}

func keyViewOf(k store.ServiceKey) serviceKeyView {
	return serviceKeyView{ID: k.ID, Name: k.Name, OwnerID: k.OwnerID, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt.UTC(), RevokedAt: utcPtr(k.RevokedAt), LastUsedAt: utcPtr(k.LastUsedAt)}
}

type createServiceKeyRequest struct {
	_    struct{} `json:"-" additionalProperties:"false"`
	Name string   `json:"name" minLength:"1" maxLength:"40" pattern:"^[a-z0-9][a-z0-9_-]*$" patternDescription:"lowercase letters, digits, '_' and '-'" example:"ci-runner" doc:"Names the key and its service user, svc-<name>"`
}

type createServiceKeyInput struct {
	Body createServiceKeyRequest
}

// createdServiceKey is the one response that carries the key.
type createdServiceKey struct {
	ID        string    `json:"id" format:"uuid"`
	Name      string    `json:"name" example:"ci-runner"`
	Key       string    `json:"key" example:"ymk_3q2-7wN4..." doc:"The key; shown this once, store it now"`
	OwnerID   string    `json:"owner_id" format:"uuid"`
	CreatedAt time.Time `json:"created_at"`
}

type createServiceKeyOutput struct {
	Body createdServiceKey
}

// serviceUsers is what issuing a key needs of the user store.
type serviceUsers interface {
	userCreator
	GetByUsername(ctx context.Context, username string) (store.User, error)
}

// handleCreateServiceKey issues a key, creating its service user on first use
// of the name. The user's password is the argon2id hash of 32 random bytes
// nobody keeps: a login as it can never succeed, yet it verifies like any
// other password, so login treats it like any wrong password.
func handleCreateServiceKey(log *slog.Logger, users serviceUsers, keys store.ServiceKeys, pw *passwords, now func() time.Time) func(context.Context, *createServiceKeyInput) (*createServiceKeyOutput, error) {
	return func(ctx context.Context, in *createServiceKeyInput) (*createServiceKeyOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := requireAdmin(who); p != nil {
			return nil, p
		}
		name := in.Body.Name
		owner, err := serviceUser(ctx, users, pw, name, now)
		if err != nil {
			return nil, problemFor(ctx, log, err, details{
				conflict: fmt.Sprintf("the username %q is taken by an account that is not a service account", serviceUserPrefix+name),
			})
		}
		key, err := newServiceKey()
		if err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, problemFor(ctx, log, fmt.Errorf("gateway: key id: %w", err), details{})
		}
		k := store.ServiceKey{ID: id.String(), Name: name, KeyHash: hashServiceKey(key),
			OwnerID: owner.ID, CreatedBy: who.UserID, CreatedAt: now().UTC()}
		if err := keys.Create(ctx, k); err != nil {
			return nil, problemFor(ctx, log, err, details{})
		}
		return &createServiceKeyOutput{Body: createdServiceKey{ID: k.ID, Name: k.Name, Key: key,
			OwnerID: k.OwnerID, CreatedAt: k.CreatedAt}}, nil
	}
}

// serviceUser returns the service user called svc-<name>, creating it when
// there is none. ErrConflict when the name belongs to another kind of account.
func serviceUser(ctx context.Context, users serviceUsers, pw *passwords, name string, now func() time.Time) (store.User, error) {
	username := serviceUserPrefix + name
	u, err := users.GetByUsername(ctx, username)
	if err == nil {
		if u.Role != store.RoleService {
			return store.User{}, fmt.Errorf("gateway: %s is a %s: %w", username, u.Role, store.ErrConflict)
		}
		return u, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	hashed, err := pw.hash(ctx, rand.Text()+rand.Text())
	if err != nil {
		return store.User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.User{}, fmt.Errorf("gateway: user id: %w", err)
	}
	at := now().UTC()
	u = store.User{ID: id.String(), Username: username, Email: username + "@service.ymera.invalid",
		HashedPassword: hashed, Role: store.RoleService, IsActive: true, CreatedAt: at, UpdatedAt: at}
	if err := users.Create(ctx, u); err != nil {
		return store.User{}, err
	}
	return u, nil
}

type listServiceKeysInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50" doc:"Page size; more than 100 is refused"`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where the page starts: the X-Next-Cursor of the previous page"`
}

type listServiceKeysOutput struct {
	Link       string `header:"Link" doc:"<...>; rel=\"next\" when there is a next page"`
	NextCursor string `header:"X-Next-Cursor" doc:"The cursor of the next page, when there is one"`
	Body       []serviceKeyView
}

// handleListServiceKeys lists every key, revoked ones included, oldest first.
func handleListServiceKeys(log *slog.Logger, keys store.ServiceKeys) func(context.Context, *listServiceKeysInput) (*listServiceKeysOutput, error) {
	return func(ctx context.Context, in *listServiceKeysInput) (*listServiceKeysOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := requireAdmin(who); p != nil {
			return nil, p
		}
		l, err := listPage(ctx, log, in.Cursor, in.Limit, "/admin/service-keys", url.Values{},
			func(after string, limit int) ([]store.ServiceKey, error) { return keys.List(ctx, after, limit) },
			func(k store.ServiceKey) string { return k.ID }, keyViewOf)
		if err != nil {
			return nil, err
		}
		return &listServiceKeysOutput{NextCursor: l.Cursor, Link: l.Link, Body: l.Body}, nil
	}
}

type revokeServiceKeyInput struct {
	KeyID string `path:"key_id" doc:"The key's id, a UUID"`
}

type revokeServiceKeyOutput struct{}

// handleRevokeServiceKey revokes a key for good; the next request with it
// gets a 401. Revoking a revoked key is not an error.
func handleRevokeServiceKey(log *slog.Logger, keys store.ServiceKeys, now func() time.Time) func(context.Context, *revokeServiceKeyInput) (*revokeServiceKeyOutput, error) {
	return func(ctx context.Context, in *revokeServiceKeyInput) (*revokeServiceKeyOutput, error) {
		who, err := currentUser(ctx)
		if err != nil {
			return nil, err
		}
		if p := requireAdmin(who); p != nil {
			return nil, p
		}
		nf := details{notFound: fmt.Sprintf("service key %q does not exist", truncate(in.KeyID, 64))}
		id, ok := parseID(in.KeyID)
		if !ok {
			return nil, problemFor(ctx, log, store.ErrNotFound, nf)
		}
		if _, err := keys.Revoke(ctx, id, now().UTC()); err != nil {
			return nil, problemFor(ctx, log, err, nf)
		}
		return &revokeServiceKeyOutput{}, nil
	}
}
