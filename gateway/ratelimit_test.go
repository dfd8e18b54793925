package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/transport"
)

// midMinute is a clock stopped in the middle of a rate-limit window, so
// that no test sees its counts reset by a window ending.
func midMinute() func() time.Time {
	t := time.Now().Truncate(time.Minute).Add(30 * time.Second)
	return func() time.Time { return t }
}

// limited sets up a gateway with rate limits on.
func limited(t *testing.T, rl gateway.RateLimit, opt ...func(*gateway.Options)) *bundle {
	t.Helper()
	rl.Enabled = true
	b := setup(t, append([]func(*gateway.Options){func(o *gateway.Options) {
		o.RateLimit = rl
		o.Now = midMinute()
	}}, opt...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.srv.Shutdown(ctx) // stops the limiter; the app may never have listened
	})
	return b
}

// wantRateHeaders checks the X-RateLimit headers of r.
func wantRateHeaders(t *testing.T, r response, limit, remaining int) {
	t.Helper()
	if got := r.header.Get("X-RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("X-RateLimit-Limit = %q, want %d", got, limit)
	}
	if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(remaining) {
		t.Errorf("X-RateLimit-Remaining = %q, want %d", got, remaining)
	}
	if reset, err := strconv.Atoi(r.header.Get("X-RateLimit-Reset")); err != nil || reset < 1 || reset > 60 {
		t.Errorf("X-RateLimit-Reset = %q, want 1-60 seconds", r.header.Get("X-RateLimit-Reset"))
	}
}

// wantLimited checks that r is the 429 problem with its headers.
func wantLimited(t *testing.T, r response) {
	t.Helper()
	r.problem(t, http.StatusTooManyRequests, gateway.ProblemRateLimited)
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After = %q, want 1-60 seconds", r.header.Get("Retry-After"))
	}
}

// TestRateLimitPerUserAndAddress: an authenticated client has a budget of
// its own, whatever its address; anonymous requests, and requests with a
// token that does not verify, share their address's budget.
func TestRateLimitPerUserAndAddress(t *testing.T) {
	t.Parallel()
	const limit = 5
	b := limited(t, gateway.RateLimit{RequestsPerMinute: limit})
	alice, _ := b.register(t, "alice") // the address's 1st request
	bob, _ := b.register(t, "bob")     // and 2nd

	for i := range limit {
		r := b.do(t, req{method: "GET", path: "/tasks", token: alice}).wantStatus(t, http.StatusOK)
		wantRateHeaders(t, r, limit, limit-1-i)
	}
	r := b.do(t, req{method: "GET", path: "/tasks", token: alice})
	wantLimited(t, r)
	wantRateHeaders(t, r, limit, 0)

	// Bob and anonymous clients are not affected by Alice's use.
	b.do(t, req{method: "GET", path: "/tasks", token: bob}).wantStatus(t, http.StatusOK)
	wantRateHeaders(t, b.do(t, req{method: "GET", path: "/livez"}).wantStatus(t, http.StatusOK), limit, 2)
	// A token that does not verify is anonymous; the 401 still counts.
	b.do(t, req{method: "GET", path: "/tasks", token: "garbage"}).wantStatus(t, http.StatusUnauthorized)
	b.do(t, req{method: "GET", path: "/no/such/route"}).wantStatus(t, http.StatusNotFound)
	wantLimited(t, b.do(t, req{method: "GET", path: "/livez"}))
	wantLimited(t, b.do(t, req{method: "GET", path: "/tasks", token: "garbage"}))
	// Bob still has his own budget.
	b.do(t, req{method: "GET", path: "/tasks", token: bob}).wantStatus(t, http.StatusOK)
}

// TestRateLimitOff: without Enabled nothing is limited or announced.
func TestRateLimitOff(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *gateway.Options) { o.RateLimit.RequestsPerMinute = 1 })
	for range 3 {
		r := b.do(t, req{method: "GET", path: "/livez"}).wantStatus(t, http.StatusOK)
		if h := r.header.Get("X-RateLimit-Limit"); h != "" {
			t.Fatalf("X-RateLimit-Limit = %q with limits off", h)
		}
	}
}

// TestLoginRateLimit: 20 fast wrong logins: the first 10 are refused as
// wrong, the rest are 429, and so is the right password until the window
// ends.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	b := limited(t, gateway.RateLimit{})
	b.register(t, "carol")
	for i := range 20 {
		r := b.do(t, req{method: "POST", path: "/auth/login", body: map[string]any{"username": "carol", "password": fmt.Sprint("wrong-", i)}})
		if i < 10 {
			r.wantStatus(t, http.StatusUnauthorized)
			continue
		}
		wantLimited(t, r)
		wantRateHeaders(t, r, 10, 0)
	}
	wantLimited(t, b.do(t, req{method: "POST", path: "/auth/login", body: map[string]any{"username": "carol", "password": "SecurePass123!"}}))
}

// TestLoginRateLimitPerAccount: guesses at one account from many addresses
// are limited too, without locking other accounts out of those addresses.
// The addresses are real: two clients bound to 127.0.0.1 and 127.0.0.2.
func TestLoginRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	b := limited(t, gateway.RateLimit{LoginPerMinute: 3})
	b.register(t, "dave")
	b.register(t, "erin")
	base := b.serve(t)
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	}
	login := func(c *http.Client, user string) int {
		t.Helper()
		resp, err := c.Post(base+"/auth/login", "application/json",
			strings.NewReader(`{"username": "`+user+`", "password": "wrong"}`))
		if err != nil {
			t.Fatalf("login from a second loopback address: %v", err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	one, two := from("127.0.0.1"), from("127.0.0.2")
	for range 3 {
		if s := login(one, "dave"); s != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", s)
		}
	}
	if s := login(two, "DAVE"); s != http.StatusTooManyRequests {
		t.Errorf("4th guess at dave, from another address: status %d, want 429", s)
	}
	if s := login(two, "erin"); s != http.StatusUnauthorized {
		t.Errorf("a guess at erin from the second address: status %d, want 401", s)
	}
	if s := login(one, "erin"); s != http.StatusTooManyRequests {
		t.Errorf("4th guess from the first address: status %d, want 429", s)
	}
}

// TestRateLimitShared: two gateway replicas on one NATS share their counts:
// once one replica has used a client's whole budget, the other refuses the
// client after at most one sync, well before its own count would.
func TestRateLimitShared(t *testing.T) {
	t.Parallel()
	const limit = 40
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, err := transport.Connect(ctx, transport.Options{DataDir: t.TempDir()}, nil)
	must(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	must(t, conn.Setup(ctx, transport.SetupOptions{}))

	now := midMinute()
	rl := gateway.RateLimit{RequestsPerMinute: limit, Store: conn, SyncInterval: 20 * time.Millisecond}
	a := limited(t, rl, func(o *gateway.Options) { o.Now = now })
	b := limited(t, rl, func(o *gateway.Options) { o.Now = now })

	for range limit {
		a.do(t, req{method: "GET", path: "/livez"}).wantStatus(t, http.StatusOK)
	}
	wantLimited(t, a.do(t, req{method: "GET", path: "/livez"}))

	// Replica a's count reaches the bucket...
	window := now().Unix() / 60
	for {
		n, err := conn.AddRate(ctx, "req_ip", window, "0.0.0.0", 0)
		must(t, err)
		if n == limit {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the shared count is %d, want %d", n, limit)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// ...and replica b refuses the client long before its own budget is
	// spent.
	for admitted := 0; ; admitted++ {
		r := b.do(t, req{method: "GET", path: "/livez"})
		if r.status == http.StatusTooManyRequests {
			wantLimited(t, r)
			break
		}
		r.wantStatus(t, http.StatusOK)
		if admitted >= limit/2 {
			t.Fatalf("replica b admitted %d requests after replica a spent the budget", admitted+1)
		}
		select {
		case <-ctx.Done():
			t.Fatal("replica b never heard of replica a's count")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
