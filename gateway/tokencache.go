package gateway

import (
	"strings"
	"sync"
	"time"
)

// Checking an access token's signature and claims (base64 and JSON
// decoding, an HMAC or RSA verification) is a large share of what an
// authenticated request costs, and a client polling its tasks sends the
// same token hundreds of times a minute. tokenCache remembers tokens that
// verified, so each is checked in full once and then found by a map lookup.
//
// The key is the whole token string, signature included: a token differing
// in any byte, or never signed by us, cannot match an entry, so the cache
// vouches only for exactly what was verified. An entry is used only between
// the token's nbf and exp (without the leeway the parser grants: outside
// that window the token is checked in full again, and refused as it would
// have been without the cache). Revocation is not cached: the denylist is
// consulted on every request after the token is found (checkToken), so a
// logout or deactivation takes effect at once.
//
// The cache holds at most two generations of tokenCacheGeneration entries:
// when the current generation is full it becomes the previous one and the
// older one is dropped whole, and a token found in the previous generation
// moves to the current one. Eviction is thus O(1) and a flood of distinct
// valid tokens costs at most 2 × tokenCacheGeneration entries, while the
// tokens in steady use stay.

// tokenCacheGeneration is the number of tokens in one generation: a few
// thousand active sessions per replica fit, at a few hundred bytes each.
const tokenCacheGeneration = 2048

// tokenCache is a bounded set of verified tokens and their principals.
type tokenCache struct {
	// generation is the most entries cur holds before it is rotated.
	generation int

	mu        sync.RWMutex
	cur, prev map[string]cachedToken
}

// cachedToken is what a verified token speaks for and from when.
type cachedToken struct {
	who principal
	// notBefore is the token's nbf; zero when it has none. who.ExpiresAt
	// is its exp, which every accepted token has.
	notBefore time.Time
}

func newTokenCache(generation int) *tokenCache {
	return &tokenCache{generation: generation, cur: make(map[string]cachedToken)}
}

// get returns the principal of raw when raw verified earlier and now lies
// in its validity window.
func (c *tokenCache) get(raw string, now time.Time) (principal, bool) {
	c.mu.RLock()
	e, ok := c.cur[raw]
	old := false
	if !ok {
		e, ok = c.prev[raw]
		old = ok
	}
	c.mu.RUnlock()
	if !ok || now.Before(e.notBefore) || !now.Before(e.who.ExpiresAt) {
		return principal{}, false
	}
	if old {
		c.put(raw, e) // still in use: keep it past the next rotation
	}
	return e.who, true
}

// put remembers that raw verified as e.
func (c *tokenCache) put(raw string, e cachedToken) {
	// The caller's string may point into a request buffer Fiber reuses.
	raw = strings.Clone(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.generation {
		c.prev, c.cur = c.cur, make(map[string]cachedToken, c.generation)
	}
	c.cur[raw] = e
}

// len returns the number of tokens held, for tests.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.cur) + len(c.prev)
}
