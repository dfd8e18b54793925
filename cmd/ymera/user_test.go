package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestUserCreate: `ymera user create` makes an account the API can log in
// with, with the role asked for; the password may come from stdin.
func TestUserCreate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dataDir := t.TempDir()
	env := map[string]string{"DATA_DIR": dataDir, "LOG_LEVEL": "WARNING"}

	var out, errOut bytes.Buffer
	err := run(ctx, []string{"user", "create", "--username", "root", "--email", "root@example.com",
		"--role", "admin", "--password", "pa55word!"}, mapEnv(env), &out, &errOut)
	if err != nil || !strings.HasPrefix(out.String(), "created admin root (") {
		t.Fatalf("user create: %v; stdout %q stderr %q", err, out.String(), errOut.String())
	}
	err = run(ctx, []string{"user", "create", "--username", "root", "--email", "other@example.com",
		"--password", "pa55word!"}, mapEnv(env), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("second root: %v", err)
	}
	for name, args := range map[string][]string{
		"bad role":       {"--username", "x1y", "--email", "x@example.com", "--password", "pa55word!", "--role", "root"},
		"short password": {"--username", "x1y", "--email", "x@example.com", "--password", "short"},
		"bad email":      {"--username", "x1y", "--email", "X <x@example.com>", "--password", "pa55word!"},
		"bad username":   {"--username", "a b", "--email", "x@example.com", "--password", "pa55word!"},
		"no email":       {"--username", "x1y", "--password", "pa55word!"},
	} {
		if err := run(ctx, append([]string{"user", "create"}, args...), mapEnv(env), &out, &errOut); err == nil {
			t.Errorf("%s: user create succeeded", name)
		}
	}

	// The password from the first line of stdin.
	cmd := userCmd(cmdEnv(env, &out, &errOut))
	cmd.SetIn(strings.NewReader("from-stdin-123\nignored\n"))
	cmd.SetArgs([]string{"create", "--username", "piped", "--email", "piped@example.com"})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("user create from stdin: %v", err)
	}
	cmd = userCmd(cmdEnv(env, &out, &errOut))
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs([]string{"create", "--username", "nopass", "--email", "nopass@example.com"})
	if err := cmd.ExecuteContext(ctx); err == nil {
		t.Error("user create with no password anywhere succeeded")
	}

	_, api := startTestSystem(t, testConfig(t, map[string]string{"DATA_DIR": dataDir}))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	api.mustJSON("POST", "/auth/login", map[string]string{"username": "root", "password": "pa55word!"}, http.StatusOK, &tok)
	api.token = tok.AccessToken
	api.mustJSON("GET", "/users", nil, http.StatusOK, nil)
	api.token = ""
	api.mustJSON("POST", "/auth/login", map[string]string{"username": "piped", "password": "from-stdin-123"}, http.StatusOK, &tok)
	api.token = tok.AccessToken
	var me map[string]any
	api.mustJSON("GET", "/users/me", nil, http.StatusOK, &me)
	if me["role"] != "user" {
		t.Errorf("piped user: %v", me)
	}
	api.mustJSON("GET", "/users", nil, http.StatusForbidden, nil)
}

func cmdEnv(m map[string]string, stdout, stderr *bytes.Buffer) env {
	return env{getenv: mapEnv(m), stdout: stdout, stderr: stderr}
}

// writeRSAKeys writes a PKCS #8 private key and a PKIX public key of the
// given size and returns their paths.
func writeRSAKeys(t *testing.T, bits int) (priv, pub string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "jwt.key"), filepath.Join(dir, "jwt.pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}), 0o600); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestFirstAdminRS256: ADMIN_USERNAME/ADMIN_PASSWORD make the first admin at
// start; RS256 keys are read from the PEM files; logout goes through the
// NATS denylist and service keys through the store.
func TestFirstAdminRS256(t *testing.T) {
	t.Parallel()
	priv, pub := writeRSAKeys(t, 2048)
	cfg := testConfig(t, map[string]string{
		"ADMIN_USERNAME": "boss", "ADMIN_PASSWORD": "boss-pa55word",
		"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY_FILE": priv, "JWT_PUBLIC_KEY_FILE": pub,
	})
	_, api := startTestSystem(t, cfg)

	var tok struct {
		AccessToken string `json:"access_token"`
	}
	api.mustJSON("POST", "/auth/login", map[string]string{"username": "boss", "password": "boss-pa55word"}, http.StatusOK, &tok)
	h, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, jwt.MapClaims{})
	if err != nil || h.Header["alg"] != "RS256" {
		t.Fatalf("token header %v, %v", h, err)
	}
	api.token = tok.AccessToken
	api.mustJSON("GET", "/users", nil, http.StatusOK, nil)

	var key struct {
		Key string `json:"key"`
	}
	api.mustJSON("POST", "/admin/service-keys", map[string]string{"name": "e2e"}, http.StatusCreated, &key)
	api.mustJSON("POST", "/auth/logout", nil, http.StatusNoContent, nil)
	api.mustJSON("GET", "/users", nil, http.StatusUnauthorized, nil)

	api.token = key.Key
	var me map[string]any
	api.mustJSON("GET", "/users/me", nil, http.StatusOK, &me)
	if me["username"] != "svc-e2e" || me["role"] != "service" {
		t.Errorf("service key acts as %v", me)
	}
}

// TestWeakRSAKeyStopsStart: an RSA key under 2048 bits stops start-up.
func TestWeakRSAKeyStopsStart(t *testing.T) {
	t.Parallel()
	priv, pub := writeRSAKeys(t, 1024)
	cfg := testConfig(t, map[string]string{"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY_FILE": priv, "JWT_PUBLIC_KEY_FILE": pub})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := startSystem(ctx, cfg, testLogger(t), nil)
	if err == nil {
		s.close(ctx)
		t.Fatal("started with a 1024-bit RSA key")
	}
	if !strings.Contains(err.Error(), "2048") {
		t.Errorf("error %q does not say why", err)
	}
}
