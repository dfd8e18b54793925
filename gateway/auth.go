package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
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

// minRSABits is the smallest RSA modulus accepted for RS256 (NIST SP
// 800-131A and RFC 7518 §3.3 both require 2048 bits).
const minRSABits = 2048

// tokenLeeway absorbs clock skew between servers when checking exp, nbf
// and iat. It must stay at most 60 s.
const tokenLeeway = 30 * time.Second

// Token signing algorithms AuthConfig.Algorithm accepts.
const (
	AlgHS256 = "HS256"
	AlgRS256 = "RS256"
)

// AuthConfig configures the access tokens the gateway issues and accepts.
// The algorithm belongs to the key, never to the token: a token naming
// another algorithm, or a key id not in the server's fixed set, is refused.
type AuthConfig struct {
	// Algorithm is AlgHS256 (the default) or AlgRS256.
	Algorithm string
	// Secret is the HS256 key, at least 32 bytes; New refuses a shorter one.
	// Unused with RS256.
	Secret []byte
	// PrivateKey signs RS256 tokens; New refuses a key under 2048 bits.
	PrivateKey *rsa.PrivateKey
	// PublicKey verifies RS256 tokens; nil means PrivateKey's own. When
	// given it must be PrivateKey's.
	PublicKey *rsa.PublicKey
	// Issuer is written to and required of the iss claim; default "ymera".
	Issuer string
	// Audience is written to and required of the aud claim; default "ymera".
	Audience string
	// Expiry is how long a token is valid; default 60 minutes.
	Expiry time.Duration
}

// principal is who made a request, as the verified token or service key
// says.
type principal struct {
	UserID string
	Role   string
	// TokenID, IssuedAt and ExpiresAt are the access token's jti, iat and
	// exp: what logout revokes and the user denylist compares. Zero for a
	// service key.
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// ServiceKeyID is the service key that authenticated the request, ""
	// for an access token.
	ServiceKeyID string
	// denyToken and denyUser are an access token's denylist keys
	// (tokenDenyKey, userDenyKey), made once when the token is verified
	// rather than on every request that presents it.
	denyToken, denyUser string
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
	// cache holds the tokens that verified recently (tokencache.go).
	cache *tokenCache
	// onVerify, when set (by tests), is called once per call of verify,
	// whether the cache answers or not, to count them.
	onVerify func()
}

// maxLifetime is the longest a token this server issued can still be
// accepted: its lifetime and the leeway. A denylist entry that must outlive
// every token already issued lives this long.
func (t *tokens) maxLifetime() time.Duration { return t.expiry + tokenLeeway }

// newTokens checks cfg, applies its defaults and prepares the parser.
func newTokens(cfg AuthConfig, now func() time.Time) (*tokens, error) {
	key, err := signingKey(cfg)
	if err != nil {
		return nil, err
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
	keys := newKeySet(key)
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
		cache:    newTokenCache(tokenCacheGeneration),
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
// returns whom it speaks for. A token that verified before and is inside
// its nbf-exp window is answered from the cache; the denylist is the
// caller's to check either way.
func (t *tokens) verify(raw string) (principal, error) {
	if t.onVerify != nil {
		t.onVerify()
	}
	if p, ok := t.cache.get(raw, t.now()); ok {
		return p, nil
	}
	p, nbf, err := t.verifyFull(raw)
	if err != nil {
		return principal{}, err
	}
	t.cache.put(raw, cachedToken{who: p, notBefore: nbf})
	return p, nil
}

// verifyFull is verify without the cache; it also returns the token's nbf
// (zero when it has none).
func (t *tokens) verifyFull(raw string) (principal, time.Time, error) {
	var c tokenClaims
	if _, err := t.parser.ParseWithClaims(raw, &c, t.keys.keyFunc); err != nil {
		return principal{}, time.Time{}, err
	}
	// Subject and jti become denylist keys: only the characters our own
	// tokens use (UUIDs, rand.Text) are accepted.
	if !denylistToken(c.Subject) {
		return principal{}, time.Time{}, errors.New("token has no usable subject")
	}
	if !denylistToken(c.ID) {
		return principal{}, time.Time{}, errors.New("token has no usable jti")
	}
	switch c.Role {
	case store.RoleUser, store.RoleAdmin, store.RoleService:
	default:
		return principal{}, time.Time{}, fmt.Errorf("token has unknown role %q", c.Role)
	}
	p := principal{UserID: c.Subject, Role: c.Role, TokenID: c.ID,
		denyToken: tokenDenyKey(c.ID), denyUser: userDenyKey(c.Subject)}
	if c.IssuedAt != nil {
		p.IssuedAt = c.IssuedAt.Time
	}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Time
	}
	var nbf time.Time
	if c.NotBefore != nil {
		nbf = c.NotBefore.Time
	}
	return p, nbf, nil
}

// denylistToken reports whether s is 1 to 64 characters of [A-Za-z0-9_-].
func denylistToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// signingKey checks cfg's key material and returns the one key tokens are
// signed and verified with.
func signingKey(cfg AuthConfig) (tokenKey, error) {
	switch cfg.Algorithm {
	case "", AlgHS256:
		if len(cfg.Secret) < minSecretLen {
			return tokenKey{}, fmt.Errorf("gateway: token secret is %d bytes; at least %d are required", len(cfg.Secret), minSecretLen)
		}
		// Copy the secret: the caller's slice must not change our key later.
		secret := append([]byte(nil), cfg.Secret...)
		return tokenKey{id: "hs256-1", method: jwt.SigningMethodHS256, signWith: secret, verifyWith: secret}, nil
	case AlgRS256:
		priv := cfg.PrivateKey
		if priv == nil {
			return tokenKey{}, errors.New("gateway: RS256 needs a private key to sign tokens")
		}
		if err := priv.Validate(); err != nil {
			return tokenKey{}, fmt.Errorf("gateway: RS256 private key: %w", err)
		}
		if bits := priv.N.BitLen(); bits < minRSABits {
			return tokenKey{}, fmt.Errorf("gateway: RS256 key has %d bits; at least %d are required", bits, minRSABits)
		}
		pub := &priv.PublicKey
		if cfg.PublicKey != nil {
			if !cfg.PublicKey.Equal(pub) {
				return tokenKey{}, errors.New("gateway: the RS256 public key is not the private key's")
			}
			pub = cfg.PublicKey
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return tokenKey{}, fmt.Errorf("gateway: RS256 public key: %w", err)
		}
		// The kid is a thumbprint of the public key, so every replica with
		// the same key names it the same way and a new key gets a new kid.
		sum := sha256.Sum256(der)
		return tokenKey{id: "rs256-" + hex.EncodeToString(sum[:8]), method: jwt.SigningMethodRS256, signWith: priv, verifyWith: pub}, nil
	}
	return tokenKey{}, fmt.Errorf("gateway: token algorithm %q is not supported; use %s or %s", cfg.Algorithm, AlgHS256, AlgRS256)
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

// authenticator decides who a request is: an access token checked against
// the denylist, or a service key.
type authenticator struct {
	tokens *tokens
	deny   Denylist
	// keys is nil when service keys are off (Options.ServiceKeys unset).
	keys *serviceKeyAuth
	log  *slog.Logger
}

// errNotAuthenticated is the detail of every refused credential whose
// reason the client need not know.
const errNotAuthenticated = "the bearer token is not valid"

// unauthorized is a 401 with the RFC 6750 challenge.
func unauthorized(detail string, invalid bool) *Problem {
	challenge := `Bearer realm="ymera"`
	if invalid {
		challenge += `, error="invalid_token"`
	}
	return newProblem(http.StatusUnauthorized, detail).withHeader("WWW-Authenticate", challenge)
}

// checkToken verifies an access token and consults the denylist: the
// token's own jti (logout) and its user (deactivation, role or password
// change, which refuse every token issued up to then). It is one lookup per
// key, two per request (in memory with a transport.DenylistView, a KV read
// each otherwise); a denylist that cannot be read refuses the request with
// 503 rather than let a revoked token through.
func (a *authenticator) checkToken(ctx context.Context, raw string) (principal, *Problem) {
	p, ok := verifiedTokenFrom(ctx, raw) // the rate limiter's check, when it made one (verified.go)
	var err error
	if !ok {
		p, err = a.tokens.verify(raw)
	}
	if err != nil {
		a.log.DebugContext(ctx, "gateway: token refused", "request_id", requestIDFrom(ctx), "err", err)
		detail := errNotAuthenticated
		if errors.Is(err, jwt.ErrTokenExpired) {
			detail = "the bearer token has expired"
		}
		return principal{}, unauthorized(detail, true)
	}
	// The denylist lives in NATS. While NATS is unreachable its client
	// would hold the request until the 30 s request timeout (an ambiguous
	// 504); bounded, the client gets a prompt 503 with Retry-After. A view
	// that answers from memory needs no bound (and its timer was 1 % of a
	// busy gateway's CPU).
	denyCtx := ctx
	if l, ok := a.deny.(interface{ Live() bool }); !ok || !l.Live() {
		var cancel context.CancelFunc
		denyCtx, cancel = context.WithTimeout(ctx, denylistTimeout)
		defer cancel()
	}
	if _, revoked, err := a.deny.RevokedAt(denyCtx, p.tokenKey()); err != nil {
		return principal{}, problemFor(ctx, a.log, fmt.Errorf("gateway: denylist: %w: %w", store.ErrUnavailable, err), details{})
	} else if revoked {
		return principal{}, unauthorized("the bearer token has been revoked", true)
	}
	at, revoked, err := a.deny.RevokedAt(denyCtx, p.userKey())
	if err != nil {
		return principal{}, problemFor(ctx, a.log, fmt.Errorf("gateway: denylist: %w: %w", store.ErrUnavailable, err), details{})
	}
	// iat has whole seconds: a token issued in the second of the revocation
	// is refused too, erring on the safe side.
	if revoked && p.IssuedAt.Unix() <= at.Unix() {
		return principal{}, unauthorized("the bearer token has been revoked", true)
	}
	return p, nil
}

// denylistTimeout bounds the two denylist lookups of one request.
const denylistTimeout = 3 * time.Second

// tokenDenyKey and userDenyKey are the denylist keys of one token and of
// every token of a user issued before the revocation.
func tokenDenyKey(jti string) string   { return "jti." + jti }
func userDenyKey(userID string) string { return "user." + userID }

// tokenKey and userKey are p's denylist keys, as verify made them.
func (p principal) tokenKey() string {
	if p.denyToken != "" {
		return p.denyToken
	}
	return tokenDenyKey(p.TokenID)
}

func (p principal) userKey() string {
	if p.denyUser != "" {
		return p.denyUser
	}
	return userDenyKey(p.UserID)
}

// authenticate is the huma middleware that enforces the bearer scheme on
// the operations that declare it, answering 401 with a WWW-Authenticate
// challenge (RFC 6750 §3), and puts the principal in the request context.
// A bearer credential starting with "ymk_", or an X-API-Key header, is a
// service key; anything else must be an access token.
func authenticate(a *authenticator) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if !requiresBearer(ctx.Operation()) {
			next(ctx)
			return
		}
		var (
			p    principal
			prob *Problem
		)
		raw, ok := bearerToken(ctx.Header("Authorization"))
		apiKey := strings.TrimSpace(ctx.Header(apiKeyHeader))
		switch {
		case ok && strings.HasPrefix(raw, serviceKeyPrefix):
			p, prob = a.checkServiceKey(ctx.Context(), raw)
		case ok:
			p, prob = a.checkToken(ctx.Context(), raw)
		case apiKey != "":
			p, prob = a.checkServiceKey(ctx.Context(), apiKey)
		default:
			prob = unauthorized("this operation requires a bearer token", false)
		}
		if prob != nil {
			writeProblemHuma(ctx, prob)
			return
		}
		next(huma.WithValue(ctx, principalKey{}, p))
	}
}

// writeProblemHuma answers with p from a huma middleware. It writes the
// body itself: huma.WriteErr would turn a 503 into the generic 500.
func writeProblemHuma(ctx huma.Context, p *Problem) {
	for name, values := range p.headers {
		for _, v := range values {
			ctx.AppendHeader(name, v)
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		body = []byte(`{"type":"` + ProblemInternal + `","title":"Internal Server Error","status":500,"detail":"an internal error occurred"}`)
	}
	ctx.SetHeader("Content-Type", problemContentType)
	ctx.SetStatus(p.Status)
	_, _ = ctx.BodyWriter().Write(body)
}
