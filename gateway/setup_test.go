package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/store/sqlite"
)

// testSecret signs the tokens of every test server.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// cheapPasswords keeps argon2id fast under -race; TestDefaultPasswordParams
// covers the production parameters.
var cheapPasswords = gateway.PasswordParams{Memory: 64, Iterations: 1, Parallelism: 1}

// knownTypes are the task types the test agents offer.
var knownTypes = fixedTypes{"security_scan", "documentation_check"}

type fixedTypes []string

func (f fixedTypes) Known(s string) bool { return slices.Contains(f, s) }
func (f fixedTypes) List() []string      { return slices.Clone(f) }

// testSubmitter stores tasks in the real store, as the production submitter
// does before publishing, and can be switched to fail like a NATS outage or
// with an internal error.
type testSubmitter struct {
	tasks store.Tasks
	fail  atomic.Pointer[error]
	panic atomic.Bool
}

func (s *testSubmitter) Submit(ctx context.Context, t actors.Task) error {
	if s.panic.Load() {
		panic("submitter exploded")
	}
	if err := s.fail.Load(); err != nil && *err != nil {
		return *err
	}
	return s.tasks.Create(ctx, t)
}

func (s *testSubmitter) failWith(err error) { s.fail.Store(&err) }

// bundle is what a test gets from setup.
type bundle struct {
	srv      *gateway.Server
	db       *sqlite.DB
	sub      *testSubmitter
	natsDown atomic.Bool
}

// setup starts a gateway on a fresh, migrated SQLite store. opt may adjust
// the options before New.
func setup(t testing.TB, opt ...func(*gateway.Options)) *bundle {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ymera.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	b := &bundle{db: db, sub: &testSubmitter{tasks: db.Tasks()}}
	opts := gateway.Options{
		Users:     db.Users(),
		Tasks:     db.Tasks(),
		Agents:    db.Agents(),
		Projects:  db.Projects(),
		Submitter: b.sub,
		TaskTypes: knownTypes,
		Checks: []gateway.HealthCheck{
			{Name: "database", Check: db.Ping},
			{Name: "nats", Check: func(context.Context) error {
				if b.natsDown.Load() {
					return errors.New("nats: no servers available for connection")
				}
				return nil
			}},
		},
		Auth:      gateway.AuthConfig{Secret: testSecret},
		Passwords: cheapPasswords,
		Version:   "1.2.3-test",
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	opts.ServiceKeys = db.ServiceKeys()
	for _, o := range opt {
		o(&opts)
	}
	srv, err := gateway.New(opts)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	b.srv = srv
	return b
}

// serve runs the server on a random local port until the test ends and
// returns its base URL.
func (b *bundle) serve(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.srv.Listener(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// response is an answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// req is one request to send through app.Test.
type req struct {
	method, path string
	body         any // string and []byte are sent verbatim, anything else as JSON
	token        string
	header       map[string]string
}

func (b *bundle) do(t testing.TB, r req) response {
	t.Helper()
	var body io.Reader
	switch v := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	case []byte:
		body = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := b.srv.App().Test(hr, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: got}
}

// object decodes the body as one JSON object.
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// wantStatus fails the test unless the response has that status.
func (r response) wantStatus(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	return r
}

// problem checks that r is an RFC 9457 problem with status and type, and
// returns it.
func (r response) problem(t testing.TB, status int, typ string) map[string]any {
	t.Helper()
	r.wantStatus(t, status)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json; body: %s", ct, r.body)
	}
	p := r.object(t)
	if p["type"] != typ {
		t.Errorf("type %v, want %s; body: %s", p["type"], typ, r.body)
	}
	if p["status"] != float64(status) {
		t.Errorf("status member %v, want %d", p["status"], status)
	}
	if s, ok := p["title"].(string); !ok || s == "" {
		t.Errorf("title %v, want a string", p["title"])
	}
	if s, ok := p["detail"].(string); !ok || s == "" {
		t.Errorf("detail %v, want a string", p["detail"])
	}
	return p
}

// wantKeys fails unless m has exactly the keys want.
func wantKeys(t testing.TB, what string, m map[string]any, want ...string) {
	t.Helper()
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s has keys %v, want %v", what, got, want)
	}
}

// register creates an account through the API and returns its token and id.
func (b *bundle) register(t testing.TB, username string) (token, userID string) {
	t.Helper()
	m := b.do(t, req{method: "POST", path: "/auth/register", body: map[string]any{
		"username": username, "email": username + "@example.com", "password": "SecurePass123!",
		"first_name": "Test", "last_name": "User",
	}}).wantStatus(t, http.StatusCreated).object(t)
	return m["access_token"].(string), m["user_id"].(string)
}

// admin registers an account, promotes it in the store and logs it in
// again, since the role travels in the token.
func (b *bundle) admin(t testing.TB, username string) string {
	t.Helper()
	_, id := b.register(t, username)
	role := store.RoleAdmin
	if _, err := b.db.Users().Update(context.Background(), id, store.UserUpdate{Role: &role}); err != nil {
		t.Fatal(err)
	}
	return b.login(t, username, "SecurePass123!")
}

func (b *bundle) login(t testing.TB, username, password string) string {
	t.Helper()
	m := b.do(t, req{method: "POST", path: "/auth/login", body: map[string]any{"username": username, "password": password}}).
		wantStatus(t, http.StatusOK).object(t)
	return m["access_token"].(string)
}

// submit creates a task through the API and returns its id.
func (b *bundle) submit(t testing.TB, token string, body map[string]any) string {
	t.Helper()
	m := b.do(t, req{method: "POST", path: "/tasks", body: body, token: token}).wantStatus(t, http.StatusCreated).object(t)
	return m["task_id"].(string)
}

func task(name string) map[string]any {
	return map[string]any{"name": name, "task_type": "security_scan"}
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
