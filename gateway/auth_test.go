package gateway_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ymera/ymera/gateway"
)

// decodeClaims reads a token's claims without verifying it.
func decodeClaims(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatalf("parse %q: %v", token, err)
	}
	return c
}

// header reads a token's header without verifying it.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Header
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIssuedTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t1, uid := b.register(t, "frank")
	t2 := b.login(t, "frank", "SecurePass123!")

	if h := header(t, t1); h["alg"] != "HS256" || h["kid"] == nil {
		t.Errorf("header %v, want HS256 with a kid", h)
	}
	c := decodeClaims(t, t1)
	for _, k := range []string{"sub", "role", "jti", "iat", "nbf", "exp", "iss", "aud"} {
		if c[k] == nil {
			t.Errorf("claim %s missing: %v", k, c)
		}
	}
	if c["sub"] != uid || c["role"] != "user" || c["iss"] != "ymera" {
		t.Errorf("claims %v", c)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3600 {
		t.Errorf("lifetime %v s, want 3600", exp-iat)
	}
	if decodeClaims(t, t2)["jti"] == c["jti"] {
		t.Error("two tokens share a jti")
	}
	// Either token works, and the scheme name is case-insensitive.
	b.do(t, req{method: "GET", path: "/tasks", token: t2}).wantStatus(t, http.StatusOK)
	b.do(t, req{method: "GET", path: "/tasks", header: map[string]string{"Authorization": "bearer " + t1}}).wantStatus(t, http.StatusOK)
}

// TestTokensRefused: every kind of bad token is a 401 problem with a
// WWW-Authenticate challenge.
func TestTokensRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good, uid := b.register(t, "grace")
	kid := header(t, good)["kid"].(string)
	now := time.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"sub": uid, "role": "user", "iss": "ymera", "aud": []string{"ymera"}, "jti": "j1",
			"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		}
		if change != nil {
			change(c)
		}
		return c
	}
	hs256 := func(change func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, testSecret, kid, claims(change))
	}

	// The control: a token made the same way but unaltered is accepted.
	b.do(t, req{method: "GET", path: "/tasks", token: hs256(nil)}).wantStatus(t, http.StatusOK)

	cases := []struct {
		name   string
		header string // Authorization
	}{
		{"no header", ""},
		{"basic scheme", "Basic Z3JhY2U6cGFzcw=="},
		{"bearer without token", "Bearer "},
		{"garbage", "Bearer garbage"},
		{"alg none", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil))},
		{"HS512 with the right secret", "Bearer " + sign(t, jwt.SigningMethodHS512, testSecret, kid, claims(nil))},
		{"wrong secret", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-00"), kid, claims(nil))},
		{"unknown kid", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, "other", claims(nil))},
		{"no kid", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, "", claims(nil))},
		{"expired", "Bearer " + hs256(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() })},
		{"no exp", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "exp") })},
		{"not yet valid", "Bearer " + hs256(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })},
		{"issued in the future", "Bearer " + hs256(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })},
		{"wrong issuer", "Bearer " + hs256(func(c jwt.MapClaims) { c["iss"] = "someone-else" })},
		{"no issuer", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "iss") })},
		{"wrong audience", "Bearer " + hs256(func(c jwt.MapClaims) { c["aud"] = "another-api" })},
		{"no audience", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "aud") })},
		{"unknown role", "Bearer " + hs256(func(c jwt.MapClaims) { c["role"] = "root" })},
		{"no subject", "Bearer " + hs256(func(c jwt.MapClaims) { delete(c, "sub") })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := req{method: "GET", path: "/tasks", header: map[string]string{}}
			if c.header != "" {
				r.header["Authorization"] = c.header
			}
			resp := b.do(t, r)
			resp.problem(t, http.StatusUnauthorized, "https://ymera.dev/problems/unauthorized")
			if ch := resp.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", ch)
			}
		})
	}

	// An expired token says so, so that a client knows to log in again.
	expired := b.do(t, req{method: "GET", path: "/tasks", token: hs256(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() })})
	if p := expired.object(t); !strings.Contains(p["detail"].(string), "expired") {
		t.Errorf("detail %q", p["detail"])
	}
	// Within the leeway a just-expired token still works (clock skew).
	b.do(t, req{method: "GET", path: "/tasks", token: hs256(func(c jwt.MapClaims) { c["exp"] = now.Add(-5 * time.Second).Unix() })}).
		wantStatus(t, http.StatusOK)
}

// TestCustomIssuerAudience: configured iss and aud are issued and required.
func TestCustomIssuerAudience(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *gateway.Options) {
		o.Auth.Issuer, o.Auth.Audience, o.Auth.Expiry = "https://auth.ymera.dev", "ymera-api", 5*time.Minute
	})
	tok, _ := b.register(t, "heidi")
	c := decodeClaims(t, tok)
	aud, _ := c.GetAudience()
	if c["iss"] != "https://auth.ymera.dev" || len(aud) != 1 || aud[0] != "ymera-api" {
		t.Errorf("claims %v", c)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 {
		t.Errorf("lifetime %v s, want 300", exp-iat)
	}
	b.do(t, req{method: "GET", path: "/tasks", token: tok}).wantStatus(t, http.StatusOK)
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	valid := gateway.Options{
		Users: b.db.Users(), Tasks: b.db.Tasks(), Submitter: b.sub, TaskTypes: knownTypes,
		Auth: gateway.AuthConfig{Secret: testSecret}, Passwords: cheapPasswords,
		Logger: slog.New(slog.DiscardHandler),
	}
	cases := map[string]func(*gateway.Options){
		"secret of 31 bytes": func(o *gateway.Options) { o.Auth.Secret = []byte(strings.Repeat("s", 31)) },
		"no secret":          func(o *gateway.Options) { o.Auth.Secret = nil },
		"no users":           func(o *gateway.Options) { o.Users = nil },
		"no tasks":           func(o *gateway.Options) { o.Tasks = nil },
		"no submitter":       func(o *gateway.Options) { o.Submitter = nil },
		"no task types":      func(o *gateway.Options) { o.TaskTypes = nil },
		"nameless check":     func(o *gateway.Options) { o.Checks = []gateway.HealthCheck{{Check: b.db.Ping}} },
		"duplicate checks": func(o *gateway.Options) {
			o.Checks = []gateway.HealthCheck{{Name: "db", Check: b.db.Ping}, {Name: "db", Check: b.db.Ping}}
		},
		"zero iterations": func(o *gateway.Options) { o.Passwords = gateway.PasswordParams{Memory: 64, Parallelism: 1} },
	}
	for name, change := range cases {
		o := valid
		change(&o)
		if _, err := gateway.New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	o := valid
	o.Auth.Secret = []byte(strings.Repeat("s", 32))
	if _, err := gateway.New(o); err != nil {
		t.Errorf("32-byte secret refused: %v", err)
	}
}
