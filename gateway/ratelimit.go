package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Defaults of RateLimit.
const (
	defaultRequestsPerMinute = 100
	defaultLoginPerMinute    = 10
	defaultRateSync          = 200 * time.Millisecond
)

// Tuning of the background sync with the RateStore.
const (
	// rateSyncTimeout bounds one round of pushes, so that a NATS outage
	// delays the next round instead of piling rounds up.
	rateSyncTimeout = 2 * time.Second
	// rateSyncParallel is how many counters are pushed at once.
	rateSyncParallel = 8
	// rateWatchRetry is the wait before watching the store again after the
	// watch failed.
	rateWatchRetry = 2 * time.Second
)

// Scopes of the counters: what is counted, per what.
const (
	scopeUser      = "req_user"
	scopeIP        = "req_ip"
	scopeLoginIP   = "login_ip"
	scopeLoginUser = "login_account"
)

// RateLimit configures the request limits. Requests are counted per user
// (by the user id of a bearer token that verifies) or, for every other
// request, per client address; POST /auth/login is further limited per
// address and per account named in the body, whether or not the password
// is right.
//
// Counting is local first: each replica decides at once from its own count
// plus the other replicas' count as last heard from the RateStore, and
// sends its own count every SyncInterval. The limit is therefore
// approximate across replicas: while N replicas each take requests for one
// client, each learns of the others' share at most one SyncInterval (plus a
// NATS round trip) late, so the client can get up to about
// (N-1) × (its request rate per replica) × SyncInterval requests beyond the
// limit in a window, and never more than N × the limit. A single replica
// is exact. Windows are fixed minutes, so a client may also spend one
// window's budget at its end and the next one's at the start of the next.
// While the store is unreachable each replica keeps limiting with what it
// knows.
type RateLimit struct {
	// Enabled turns the limits on (RATE_LIMIT_ENABLED).
	Enabled bool
	// RequestsPerMinute is the limit per user or address
	// (RATE_LIMIT_REQUESTS_PER_MINUTE); zero means 100.
	RequestsPerMinute int
	// LoginPerMinute is the login attempts allowed per address and per
	// account (RATE_LIMIT_LOGIN_PER_MINUTE); zero means 10.
	LoginPerMinute int
	// Store shares the counts between replicas; nil counts per replica.
	Store RateStore
	// SyncInterval is how often counts are sent to Store; zero means 200 ms.
	SyncInterval time.Duration
}

// rateLimiter holds the counters and the goroutines that sync them.
type rateLimiter struct {
	user, ip, loginIP, loginUser *counter
	store                        RateStore
	interval                     time.Duration
	tokens                       *tokens
	log                          *slog.Logger

	failing atomic.Bool // the last push failed; logged once per outage
	stopped sync.Once
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

// newRateLimiter applies cfg's defaults and starts syncing; stop ends it.
func newRateLimiter(cfg RateLimit, tok *tokens, now func() time.Time, log *slog.Logger) (*rateLimiter, error) {
	if cfg.RequestsPerMinute < 0 || cfg.LoginPerMinute < 0 || cfg.SyncInterval < 0 {
		return nil, fmt.Errorf("gateway: rate limits must not be negative (requests %d, logins %d, sync %s)",
			cfg.RequestsPerMinute, cfg.LoginPerMinute, cfg.SyncInterval)
	}
	perMin := cmp.Or(cfg.RequestsPerMinute, defaultRequestsPerMinute)
	logins := cmp.Or(cfg.LoginPerMinute, defaultLoginPerMinute)
	l := &rateLimiter{
		user:      newCounter(scopeUser, perMin, now),
		ip:        newCounter(scopeIP, perMin, now),
		loginIP:   newCounter(scopeLoginIP, logins, now),
		loginUser: newCounter(scopeLoginUser, logins, now),
		store:     cfg.Store,
		interval:  cmp.Or(cfg.SyncInterval, defaultRateSync),
		tokens:    tok,
		log:       log,
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.done.Go(func() { l.syncLoop(ctx) })
	if l.store != nil {
		l.done.Go(func() { l.watchLoop(ctx) })
	}
	return l, nil
}

func (l *rateLimiter) counters() []*counter {
	return []*counter{l.user, l.ip, l.loginIP, l.loginUser}
}

// stop ends the background sync and waits for it.
func (l *rateLimiter) stop() {
	l.stopped.Do(func() {
		l.cancel()
		l.done.Wait()
	})
}

// syncLoop forgets past windows and, with a store, pushes the local counts,
// every interval.
func (l *rateLimiter) syncLoop(ctx context.Context) {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.syncOnce(ctx)
		}
	}
}

// syncOnce pushes every counter's unsynced counts, a few at a time.
func (l *rateLimiter) syncOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, rateSyncTimeout)
	defer cancel()
	sem := make(chan struct{}, rateSyncParallel)
	var wg sync.WaitGroup
	for _, c := range l.counters() {
		for _, p := range c.pending() {
			if l.store == nil {
				c.pushed(p, 0, true) // nothing to share: count as synced
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				total, err := l.store.AddRate(ctx, c.scope, p.window, p.id, p.delta)
				c.pushed(p, total, err == nil)
				l.noteSync(ctx, err)
			})
		}
	}
	wg.Wait()
}

// noteSync logs the first failure of an outage and the recovery, not every
// failed push.
func (l *rateLimiter) noteSync(ctx context.Context, err error) {
	if err != nil && !l.failing.Swap(true) && ctx.Err() == nil {
		l.log.Warn("gateway: rate limit counts not shared; limiting per replica until the store answers", "err", err)
	}
	if err == nil && l.failing.Swap(false) {
		l.log.Info("gateway: rate limit counts shared again")
	}
}

// watchLoop applies the totals other replicas push, watching again after a
// failure until ctx ends.
func (l *rateLimiter) watchLoop(ctx context.Context) {
	byScope := map[string]*counter{}
	for _, c := range l.counters() {
		byScope[c.scope] = c
	}
	for {
		err := l.store.WatchRates(ctx, func(scope string, w int64, id string, total int64) {
			if c := byScope[scope]; c != nil {
				c.heard(w, id, total)
			}
		})
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("gateway: rate limit watch failed; retrying", "err", err, "retry_in", rateWatchRetry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(rateWatchRetry):
		}
	}
}

// limitRequests is the middleware of the per-user and per-address limit.
// It verifies the bearer token itself, rather than running after the huma
// authenticate middleware, so that every request, including those no huma
// operation serves (unknown routes, /redoc, /ws) and those that carry a
// token on a public route, is counted exactly once under one key before
// any handler runs. A token that does not verify counts against the
// address; authenticate then refuses it as before.
func (l *rateLimiter) limitRequests() fiber.Handler {
	return func(c *fiber.Ctx) error {
		var v verdict
		if p, ok := l.principalOf(c); ok {
			v = l.user.take(p.UserID)
		} else {
			v = l.ip.take(c.IP())
		}
		setRateHeaders(c, v)
		if !v.allowed {
			return rateProblem(v, "requests")
		}
		return c.Next()
	}
}

// principalOf verifies the request's bearer token, if any, and leaves the
// result in the request's context for authenticate (verified.go).
func (l *rateLimiter) principalOf(c *fiber.Ctx) (principal, bool) {
	raw, ok := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !ok || strings.HasPrefix(raw, serviceKeyPrefix) {
		return principal{}, false
	}
	p, err := l.tokens.verify(raw)
	if err != nil {
		return principal{}, false
	}
	// Fiber's strings point into a buffer reused after the request: copy.
	c.SetUserContext(withVerifiedToken(c.UserContext(), strings.Clone(raw), p))
	return p, true
}

// limitLogins limits POST /auth/login per address and per account, so that
// neither one address trying many accounts nor many addresses trying one
// account get more than the login limit of guesses per minute.
func (l *rateLimiter) limitLogins() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Method() != http.MethodPost {
			return c.Next()
		}
		v := l.loginIP.take(c.IP())
		if v.allowed {
			if name := loginName(c.Body()); name != "" {
				v = l.loginUser.take(name)
			}
		}
		setRateHeaders(c, v)
		if !v.allowed {
			return rateProblem(v, "login attempts")
		}
		return c.Next()
	}
}

// loginName returns the normalised username of a login body, or "" when
// the body names none; the login operation itself answers a bad body.
func loginName(body []byte) string {
	if len(body) == 0 || len(body) > authBodyLimit {
		return ""
	}
	var b struct {
		Username string `json:"username"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	name := strings.ToLower(strings.TrimSpace(b.Username))
	if len(name) > 256 {
		return ""
	}
	return name
}

// setRateHeaders tells the client its budget: the limit, what is left and
// the seconds until the window resets (a delay, as in the IETF
// RateLimit-Reset draft, not a time). They are formatted into a stack
// buffer: this runs on every request.
func setRateHeaders(c *fiber.Ctx, v verdict) {
	var buf [20]byte
	h := &c.Response().Header
	h.SetBytesV("X-RateLimit-Limit", strconv.AppendInt(buf[:0], v.limit, 10))
	h.SetBytesV("X-RateLimit-Remaining", strconv.AppendInt(buf[:0], v.remaining, 10))
	h.SetBytesV("X-RateLimit-Reset", strconv.AppendInt(buf[:0], resetSeconds(v.reset), 10))
}

// resetSeconds rounds a wait up to whole seconds, at least one.
func resetSeconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

// rateProblem is the 429 of a refused request, with Retry-After.
func rateProblem(v verdict, what string) *Problem {
	secs := resetSeconds(v.reset)
	return newProblem(http.StatusTooManyRequests,
		fmt.Sprintf("more than %d %s per minute; retry in %d s", v.limit, what, secs)).
		withHeader("Retry-After", strconv.FormatInt(secs, 10))
}
