package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ymera/ymera/store"
)

// minSecretLen is the shortest HS256 secret accepted: RFC 7518 §3.2 asks
// for a key at least as long as the hash output (256 bits).
const minSecretLen = 32

// tokenLeeway absorbs clock skew between servers when checking exp, nbf
// and iat.
const tokenLeeway = 30 * time.Second

// AuthConfig configures the access tokens the gateway issues and accepts.
type AuthConfig struct {
	// Secret is the HS256 key, at least 32 bytes; New refuses a shorter one.
	Secret []byte
	// Issuer is written to and required of the iss claim; default "ymera".
	Issuer string
	// Audience is written to and required of the aud claim; default "ymera".
	Audience string
	// Expiry is how long a token is valid; default 60 minutes.
	Expiry time.Duration
}

// principal is who made a request, as the verified token says.
type principal struct {
	UserID string
	Role   string
}

// seesAll reports whether p may see every user's resources, not only its own.
func (p principal) seesAll() bool { return p.Role == store.RoleAdmin }

// principalKey is the context key of the request's principal.
type principalKey struct{}

// currentUser returns the authenticated principal of the request. Only
// operations that declare the bearer scheme have one; the 401 covers a route
// registered without it by mistake.
func currentUser(ctx context.Context) (principal, error) {
	p, ok := ctx.Value(principalKey{}).(principal)
	if !ok {
		return principal{}, newProblem(http.StatusUnauthorized, "this operation requires a bearer token")
	}
	return p, nil
}

// tokenClaims are the claims of an access token: the registered ones (sub is
// the user id; iss, aud, exp, nbf, iat, jti) and the user's role.
type tokenClaims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// tokens issues and verifies access tokens.
type tokens struct {
	keys     keySet
	parser   *jwt.Parser
	issuer   string
	audience string
	expiry   time.Duration
	now      func() time.Time
}

// newTokens checks cfg, applies its defaults and prepares the parser.
func newTokens(cfg AuthConfig, now func() time.Time) (*tokens, error) {
	if len(cfg.Secret) < minSecretLen {
		return nil, fmt.Errorf("gateway: token secret is %d bytes; at least %d are required", len(cfg.Secret), minSecretLen)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = defaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = defaultAudience
	}
	if cfg.Expiry <= 0 {
		cfg.Expiry = defaultTokenExpiry
	}
	// Copy the secret: the caller's slice must not change our key later.
	secret := append([]byte(nil), cfg.Secret...)
	keys := newKeySet(tokenKey{id: "hs256-1", method: jwt.SigningMethodHS256, signWith: secret, verifyWith: secret})
	return &tokens{
		keys: keys,
		parser: jwt.NewParser(
			jwt.WithValidMethods(keys.algorithms()),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithLeeway(tokenLeeway),
			jwt.WithTimeFunc(now),
		),
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		expiry:   cfg.Expiry,
		now:      now,
	}, nil
}

// issue returns a signed access token for the user.
func (t *tokens) issue(userID, role string) (string, error) {
	now := t.now()
	return t.keys.sign(tokenClaims{
		Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(t.expiry)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			// A random id lets a later revocation list name one token.
			ID: rand.Text(),
		},
	})
}

// verify checks raw's signature, algorithm, issuer, audience and times and
// returns whom it speaks for.
func (t *tokens) verify(raw string) (principal, error) {
	var c tokenClaims
	if _, err := t.parser.ParseWithClaims(raw, &c, t.keys.keyFunc); err != nil {
		return principal{}, err
	}
	if c.Subject == "" {
		return principal{}, errors.New("token has no subject")
	}
	switch c.Role {
	case store.RoleUser, store.RoleAdmin, store.RoleService:
	default:
		return principal{}, fmt.Errorf("token has unknown role %q", c.Role)
	}
	return principal{UserID: c.Subject, Role: c.Role}, nil
}

// tokenKey is one key of a keySet, bound to exactly one algorithm.
type tokenKey struct {
	// id is the token header's kid.
	id     string
	method jwt.SigningMethod
	// signWith and verifyWith are the same []byte for HMAC; for RS256 they
	// would be the *rsa.PrivateKey (absent on a verify-only replica) and the
	// *rsa.PublicKey.
	signWith   any
	verifyWith any
}

// keySet is the server's fixed set of token keys. A token is verified only
// with the key its kid names and only if its alg is that key's algorithm, so
// a token cannot choose how it is checked (alg "none", or HS256 keyed with an
// RSA public key). Rotation or RS256 means more entries in byID; nothing else
// changes.
type keySet struct {
	signing tokenKey
	byID    map[string]tokenKey
}

// newKeySet returns a set that signs with signing and verifies with it and
// with others.
func newKeySet(signing tokenKey, others ...tokenKey) keySet {
	ks := keySet{signing: signing, byID: map[string]tokenKey{signing.id: signing}}
	for _, k := range others {
		ks.byID[k.id] = k
	}
	return ks
}

// algorithms lists the algorithms of the set's keys, for the parser's
// first, cheap check.
func (ks keySet) algorithms() []string {
	seen := map[string]bool{}
	var algs []string
	for _, k := range ks.byID {
		if alg := k.method.Alg(); !seen[alg] {
			seen[alg] = true
			algs = append(algs, alg)
		}
	}
	return algs
}

// sign signs claims with the signing key and names it in kid.
func (ks keySet) sign(claims jwt.Claims) (string, error) {
	tok := jwt.NewWithClaims(ks.signing.method, claims)
	tok.Header["kid"] = ks.signing.id
	s, err := tok.SignedString(ks.signing.signWith)
	if err != nil {
		return "", fmt.Errorf("gateway: sign token: %w", err)
	}
	return s, nil
}

// keyFunc finds the verification key for a parsed, not yet verified token.
func (ks keySet) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := ks.byID[kid]
	if !ok {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	if t.Method == nil || t.Method.Alg() != k.method.Alg() {
		return nil, fmt.Errorf("key %q does not sign with %v", kid, t.Header["alg"])
	}
	return k.verifyWith, nil
}

// requiresBearer reports whether op declares the bearer security scheme.
func requiresBearer(op *huma.Operation) bool {
	for _, req := range op.Security {
		if _, ok := req[bearerScheme]; ok {
			return true
		}
	}
	return false
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate is the huma middleware that enforces the bearer scheme on
// the operations that declare it, answering 401 with a WWW-Authenticate
// challenge (RFC 6750 §3), and puts the principal in the request context.
func authenticate(api huma.API, t *tokens, log *slog.Logger) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if !requiresBearer(ctx.Operation()) {
			next(ctx)
			return
		}
		raw, ok := bearerToken(ctx.Header("Authorization"))
		if !ok {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="ymera"`)
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, "this operation requires a bearer token")
			return
		}
		p, err := t.verify(raw)
		if err != nil {
			log.DebugContext(ctx.Context(), "gateway: token refused",
				"request_id", requestIDFrom(ctx.Context()), "err", err)
			detail := "the bearer token is not valid"
			if errors.Is(err, jwt.ErrTokenExpired) {
				detail = "the bearer token has expired"
			}
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="ymera", error="invalid_token"`)
			_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, detail)
			return
		}
		next(huma.WithValue(ctx, principalKey{}, p))
	}
}
