package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ymera/ymera/gateway"
)

// TestCORS: a listed origin's preflight is allowed with the methods and
// headers the API needs, an unlisted origin gets no allow header, "*"
// allows any origin without credentials.
func TestCORS(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *gateway.Options) { o.CORSOrigins = []string{"https://app.example", "http://localhost:3000"} })
	preflight := func(origin string) response {
		return b.do(t, req{method: "OPTIONS", path: "/tasks", header: map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "authorization, content-type",
		}})
	}

	ok := preflight("https://app.example")
	if ok.status != http.StatusNoContent {
		t.Errorf("preflight status %d, want 204", ok.status)
	}
	for name, want := range map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
	} {
		if got := ok.header.Get(name); got != want {
			t.Errorf("listed origin: %s = %q, want %q", name, got, want)
		}
	}
	if m := ok.header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") || !strings.Contains(m, "DELETE") {
		t.Errorf("Access-Control-Allow-Methods = %q", m)
	}
	if h := ok.header.Get("Access-Control-Allow-Headers"); !strings.Contains(h, "Authorization") || !strings.Contains(h, "Content-Type") {
		t.Errorf("Access-Control-Allow-Headers = %q", h)
	}
	if v := strings.Join(ok.header.Values("Vary"), ","); !strings.Contains(v, "Origin") {
		t.Errorf("Vary = %q, want Origin in it", v)
	}

	for _, origin := range []string{"https://evil.example", "https://app.example.evil.example", "null"} {
		bad := preflight(origin)
		for name := range bad.header {
			if strings.HasPrefix(name, "Access-Control-Allow-") {
				t.Errorf("unlisted origin %s got %s: %q", origin, name, bad.header.Get(name))
			}
		}
	}

	// Actual requests: the listed origin may read the answer, including
	// the headers it needs; the unlisted one may not.
	get := b.do(t, req{method: "GET", path: "/livez", header: map[string]string{"Origin": "http://localhost:3000"}})
	if got := get.header.Get("Access-Control-Allow-Origin"); got != "http://localhost:3000" {
		t.Errorf("GET from a listed origin: Access-Control-Allow-Origin = %q", got)
	}
	if e := get.header.Get("Access-Control-Expose-Headers"); !strings.Contains(e, "X-Request-ID") {
		t.Errorf("Access-Control-Expose-Headers = %q", e)
	}
	get = b.do(t, req{method: "GET", path: "/livez", header: map[string]string{"Origin": "http://localhost:3001"}})
	if got := get.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GET from an unlisted origin: Access-Control-Allow-Origin = %q", got)
	}
}

// TestCORSAnyOrigin: "*" answers any origin with "*" and never allows
// credentials.
func TestCORSAnyOrigin(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *gateway.Options) { o.CORSOrigins = []string{"*"} })
	resp := b.do(t, req{method: "OPTIONS", path: "/tasks", header: map[string]string{
		"Origin": "https://anywhere.example", "Access-Control-Request-Method": "GET",
	}})
	if got := resp.header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
	}
	if got := resp.header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Access-Control-Allow-Credentials = %q with *", got)
	}
}

// TestCORSNoOrigins: no CORS_ORIGINS allows no cross-origin page.
func TestCORSNoOrigins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp := b.do(t, req{method: "OPTIONS", path: "/tasks", header: map[string]string{
		"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET",
	}})
	if got := resp.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q with no origins configured", got)
	}
}

// TestCORSBadOrigins: New refuses "*" mixed with origins and origins that
// are not scheme://host[:port].
func TestCORSBadOrigins(t *testing.T) {
	t.Parallel()
	b := setup(t) // for the dependencies
	for _, origins := range [][]string{
		{"*", "https://a.example"},
		{"https://a.example/app"},
		{"ftp://a.example"},
		{"a.example"},
	} {
		_, err := gateway.New(gateway.Options{
			Users: b.db.Users(), Tasks: b.db.Tasks(), Submitter: b.sub, TaskTypes: knownTypes,
			Auth: gateway.AuthConfig{Secret: testSecret}, Passwords: cheapPasswords,
			CORSOrigins: origins,
		})
		if err == nil {
			t.Errorf("New accepted CORS origins %q", origins)
		}
	}
}
