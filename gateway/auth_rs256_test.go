package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ymera/ymera/gateway"
)

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRS256Tokens: with RS256 every token attack of the issue is a 401,
// above all an HS256 token keyed with the server's public key.
func TestRS256Tokens(t *testing.T) {
	t.Parallel()
	key := rsaKey(t, 2048)
	b := setup(t, func(o *gateway.Options) {
		o.Auth = gateway.AuthConfig{Algorithm: gateway.AlgRS256, PrivateKey: key, PublicKey: &key.PublicKey}
	})
	good, uid := b.register(t, "rsa-user")
	h := header(t, good)
	kid, _ := h["kid"].(string)
	if h["alg"] != "RS256" || !strings.HasPrefix(kid, "rs256-") {
		t.Fatalf("header %v, want RS256 with an rs256- kid", h)
	}
	b.do(t, req{method: "GET", path: "/tasks", token: good}).wantStatus(t, http.StatusOK)

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
	rs256 := func(change func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodRS256, key, kid, claims(change))
	}
	b.do(t, req{method: "GET", path: "/tasks", token: rs256(nil)}).wantStatus(t, http.StatusOK) // the control

	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	must(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	other := rsaKey(t, 2048)

	// Flip one character of the payload of a valid token.
	parts := strings.Split(rs256(nil), ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"user"`, `"admin"`, 1))) + "." + parts[2]

	cases := map[string]string{
		"alg none":                       sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil)),
		"HS256 keyed with the PEM":       sign(t, jwt.SigningMethodHS256, pubPEM, kid, claims(nil)),
		"HS256 keyed with the DER":       sign(t, jwt.SigningMethodHS256, der, kid, claims(nil)),
		"HS256 keyed with PEM, HS kid":   sign(t, jwt.SigningMethodHS256, pubPEM, "hs256-1", claims(nil)),
		"HS256 with the default secret":  sign(t, jwt.SigningMethodHS256, testSecret, "hs256-1", claims(nil)),
		"RS512 with the right key":       sign(t, jwt.SigningMethodRS512, key, kid, claims(nil)),
		"PS256 with the right key":       sign(t, jwt.SigningMethodPS256, key, kid, claims(nil)),
		"another RSA key, same kid":      sign(t, jwt.SigningMethodRS256, other, kid, claims(nil)),
		"unknown kid":                    sign(t, jwt.SigningMethodRS256, key, "rs256-0000000000000000", claims(nil)),
		"no kid":                         sign(t, jwt.SigningMethodRS256, key, "", claims(nil)),
		"expired":                        rs256(func(c jwt.MapClaims) { c["exp"] = now.Add(-2 * time.Minute).Unix() }),
		"no exp":                         rs256(func(c jwt.MapClaims) { delete(c, "exp") }),
		"not yet valid":                  rs256(func(c jwt.MapClaims) { c["nbf"] = now.Add(2 * time.Minute).Unix() }),
		"issued in the future":           rs256(func(c jwt.MapClaims) { c["iat"] = now.Add(2 * time.Minute).Unix() }),
		"wrong iss":                      rs256(func(c jwt.MapClaims) { c["iss"] = "evil" }),
		"wrong aud":                      rs256(func(c jwt.MapClaims) { c["aud"] = "another-api" }),
		"no jti":                         rs256(func(c jwt.MapClaims) { delete(c, "jti") }),
		"jti that cannot be a key":       rs256(func(c jwt.MapClaims) { c["jti"] = "a.b>" }),
		"tampered payload":               tampered,
		"signature of another token":     parts[0] + "." + strings.Split(rs256(func(c jwt.MapClaims) { c["jti"] = "j2" }), ".")[1] + "." + parts[2],
		"beyond the leeway (61 s late)":  rs256(func(c jwt.MapClaims) { c["exp"] = now.Add(-61 * time.Second).Unix() }),
		"garbage after a valid prefix":   parts[0] + ".!!!." + parts[2],
		"three empty segments":           "..",
		"a JWE-shaped five-segment blob": "a.b.c.d.e",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := b.do(t, req{method: "GET", path: "/tasks", header: map[string]string{"Authorization": "Bearer " + tok}})
			r.problem(t, http.StatusUnauthorized, problemUnauth)
			if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
				t.Errorf("WWW-Authenticate %q", ch)
			}
		})
	}
}

// TestAuthConfigRefused: New refuses weak or inconsistent key material.
func TestAuthConfigRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := rsaKey(t, 2048)
	weak := rsaKey(t, 1024)
	base := gateway.Options{
		Users: b.db.Users(), Tasks: b.db.Tasks(), Submitter: b.sub, TaskTypes: knownTypes,
		Passwords: cheapPasswords, Logger: slog.New(slog.DiscardHandler),
	}
	cases := map[string]gateway.AuthConfig{
		"HS256 secret of 31 bytes":      {Secret: []byte(strings.Repeat("s", 31))},
		"explicit HS256 without secret": {Algorithm: gateway.AlgHS256},
		"RSA-1024":                      {Algorithm: gateway.AlgRS256, PrivateKey: weak},
		"RS256 without a private key":   {Algorithm: gateway.AlgRS256, PublicKey: &key.PublicKey},
		"public key of another pair":    {Algorithm: gateway.AlgRS256, PrivateKey: key, PublicKey: &rsaKey(t, 2048).PublicKey},
		"unsupported algorithm":         {Algorithm: "ES256", Secret: testSecret},
		"none":                          {Algorithm: "none", Secret: testSecret},
		"lowercase is not a spelling":   {Algorithm: "hs256", Secret: testSecret},
	}
	for name, auth := range cases {
		o := base
		o.Auth = auth
		if _, err := gateway.New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	o := base
	o.Auth = gateway.AuthConfig{Algorithm: gateway.AlgRS256, PrivateKey: key}
	if _, err := gateway.New(o); err != nil {
		t.Errorf("RS256 with a 2048-bit key refused: %v", err)
	}
}
