package gateway

import "context"

// The rate limiter runs in the Fiber chain, before huma's authenticate,
// and must verify the bearer token to count the request against its user.
// It leaves what it verified in the request's context so that authenticate
// (and the /ws handshake) only consult the denylist instead of checking the
// signature and claims a second time: an authenticated request costs at
// most one signature verification whether or not rate limiting is on. Both
// go through tokens.verify, so both use the cache of verified tokens
// (tokencache.go) and see the same answer for the same token.
//
// The token is kept with its principal, and a later step reuses the
// principal only for that exact token, so a context that somehow carries
// another request's verification cannot vouch for this one's credential.

// verifiedTokenKey is the context key of a verifiedToken.
type verifiedTokenKey struct{}

// verifiedToken is an access token whose signature and claims were checked
// earlier in this request, and whom it speaks for. The denylist was not
// consulted: logout and revocation are authenticate's to check.
type verifiedToken struct {
	raw string
	who principal
}

// withVerifiedToken records that raw verified as who.
func withVerifiedToken(ctx context.Context, raw string, who principal) context.Context {
	return context.WithValue(ctx, verifiedTokenKey{}, verifiedToken{raw: raw, who: who})
}

// verifiedTokenFrom returns the principal of raw when an earlier step of
// this request verified exactly that token.
func verifiedTokenFrom(ctx context.Context, raw string) (principal, bool) {
	v, ok := ctx.Value(verifiedTokenKey{}).(verifiedToken)
	if !ok || v.raw != raw {
		return principal{}, false
	}
	return v.who, true
}
