package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store/sqlite"
)

type noSubmitter struct{}

func (noSubmitter) Submit(context.Context, actors.Task) error { return nil }

type noTypes struct{}

func (noTypes) Known(string) bool { return false }
func (noTypes) List() []string    { return nil }

// countingServer is a gateway on a fresh SQLite store whose token
// verifications are counted.
func countingServer(t *testing.T, limit bool) (*Server, *atomic.Int64) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ymera.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Users: db.Users(), Tasks: db.Tasks(), Submitter: noSubmitter{}, TaskTypes: noTypes{},
		Auth:      AuthConfig{Secret: []byte("0123456789abcdef0123456789abcdef-verified")},
		RateLimit: RateLimit{Enabled: limit},
		Passwords: PasswordParams{Memory: 64, Iterations: 1, Parallelism: 1},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	n := &atomic.Int64{}
	s.tokens.onVerify = func() { n.Add(1) }
	return s, n
}

// TestOneVerificationPerRequest: an authenticated request has its token's
// signature checked once, by the rate limiter when it is on and by
// authenticate when it is off, and a logged-out token is still refused
// when the limiter verified it.
func TestOneVerificationPerRequest(t *testing.T) {
	t.Parallel()
	for _, limit := range []bool{true, false} {
		t.Run(map[bool]string{true: "rate_limited", false: "unlimited"}[limit], func(t *testing.T) {
			t.Parallel()
			s, n := countingServer(t, limit)
			raw, err := s.tokens.issue("0190a7e4-0000-7000-8000-00000000000a", "user")
			if err != nil {
				t.Fatal(err)
			}
			get := func(path string) int {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.Header.Set("Authorization", "Bearer "+raw)
				resp, err := s.App().Test(r, -1)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}

			n.Store(0)
			if got := get("/tasks"); got != http.StatusOK {
				t.Fatalf("GET /tasks: %d", got)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("GET /tasks verified the token %d times, want 1", got)
			}

			// The denylist is still consulted after the limiter's check.
			p, err := s.tokens.verify(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.opts.Denylist.Revoke(context.Background(), tokenDenyKey(p.TokenID), p.ExpiresAt); err != nil {
				t.Fatal(err)
			}
			n.Store(0)
			if got := get("/tasks"); got != http.StatusUnauthorized {
				t.Errorf("GET /tasks with a revoked token: %d, want 401", got)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("refused request verified the token %d times, want 1", got)
			}
		})
	}
}

// TestVerifiedTokenOnlyForItsToken: a principal in the context vouches
// for the token it was verified from and no other.
func TestVerifiedTokenOnlyForItsToken(t *testing.T) {
	t.Parallel()
	ctx := withVerifiedToken(context.Background(), "a.b.c", principal{UserID: "u1", Role: "user"})
	if p, ok := verifiedTokenFrom(ctx, "a.b.c"); !ok || p.UserID != "u1" {
		t.Errorf("same token: %v %v", p, ok)
	}
	if _, ok := verifiedTokenFrom(ctx, "a.b.d"); ok {
		t.Error("another token was vouched for")
	}
	if _, ok := verifiedTokenFrom(context.Background(), "a.b.c"); ok {
		t.Error("an empty context vouched for a token")
	}
}
