// Package gateway is YMERA's HTTP API: a Fiber app whose operations are
// declared with huma, so that request validation and the OpenAPI 3.1 document
// (/openapi.json, /docs) both come from the Go types in this package.
//
// # Shape
//
// New takes everything the API needs as Options (small interfaces declared
// here, implemented by the store and the task submitter) and returns a
// Server. routes.go lists the whole API on one screen; every handler is a
// small maker (handleSubmitTask, handleLogin, ...) that takes its
// dependencies and returns the function huma calls. middleware.go holds the
// Fiber middleware chain in the seed's order.
//
// # Errors
//
// Every error response is an RFC 9457 problem details object
// (application/problem+json) with a stable type URI per kind of failure (see
// the ProblemType constants). problems.go is the one place that turns errors
// into problems: store and submitter errors (problemFor), huma's own
// validation errors (problemTransformer) and Fiber's errors such as an
// unknown route or a body over the limit (Server.handleError).
//
// huma reports a body that does not match its schema as 422. This API keeps
// 422 for a request that is well formed but names something the platform
// cannot do (an unknown task_type) and answers 400 for every malformed or
// invalid request, as the seed did. problems.go does that translation per
// API, without touching huma's package-level error constructor.
//
// # Authentication
//
// Clients register or log in and receive a JWT access token (HS256, 60
// minutes by default) to send as "Authorization: Bearer <token>". An
// operation that declares the "bearer" security scheme in routes.go is
// refused with 401 and "WWW-Authenticate: Bearer" unless the token verifies;
// the token's subject (user id) and role are then in the request context. The
// token is trusted until it expires: a deactivated user keeps access for at
// most the token lifetime. Passwords are stored as argon2id hashes in the PHC
// string format.
//
// # Live events
//
// GET /ws (ws*.go, mounted when Options.WebSocket.Events is set) pushes
// task, agent and project events from the NATS stream YMERA_EVENTS to
// WebSocket clients, authenticated at the handshake like any request and
// filtered to what the user owns; a client resumes after a disconnect by
// subscribing with the last stream sequence it saw. The protocol is the
// comment at the top of ws.go; docs/websocket.md is the client's guide.
//
// # Middleware
//
// middleware.go installs the seed's chain: request logging, a 30 s timeout
// (timeout.go: the handler's context is cancelled and the client gets a
// 504), the 10 MB body limit (Fiber's, 413), security headers
// (secheaders.go: a strict CSP for the API, the docs pages set their own),
// rate limiting (ratelimit.go) and CORS (cors.go: CORS_ORIGINS; an
// unlisted origin gets no allow header). metrics.go records
// http_requests_total and http_request_duration_seconds by route pattern
// around the chain and serves /metrics from Options.Registry.
//
// Requests are limited per user (a bearer token that verifies) or per
// address, and POST /auth/login also per address and per account. The
// limiter counts locally and shares its counts through Options.RateLimit's
// RateStore (the NATS KV bucket ymera_ratelimit) every 200 ms, so a
// request never waits for NATS; the price is that replicas may together
// admit somewhat more than the limit, as RateLimit's documentation works
// out. The limiter verifies the token itself, since huma's authenticate
// runs after the Fiber chain, so the limit covers every route, /ws and
// unknown paths included; it leaves the verified principal in the request
// context (verified.go) and authenticate then only consults the denylist,
// so an authenticated request costs at most one signature verification.
// Tokens that verified are remembered, bounded, until their exp
// (tokencache.go), so a client polling with the same token has it checked
// in full once; the denylist is still read on every request, and logout
// and revocation take effect at once.
//
// # Decisions worth knowing
//
//   - Unknown fields in request bodies are ignored, as the seed's Pydantic
//     models did; in particular a "role" in a registration is never honoured.
//   - A task id that is not a UUID answers 404, like a task that does not
//     exist or belongs to someone else: the id space is the server's, and a
//     malformed id names no task.
//   - GET /tasks answers 400 for limit > 100 rather than silently capping, so
//     a client never mistakes a capped page for a short one.
//   - The list cursor is opaque (base64url of the last id seen); the next one
//     is sent in a Link rel="next" header and in X-Next-Cursor.
//   - /health answers with the seed's report shape, not a problem, even when
//     it answers 503: monitors read its components.
//   - Agents and projects follow the same ownership rule as tasks (rbac.go;
//     the matrix is in docs/security.md): another user's object is a 404
//     with the body of a missing one. They are listed oldest first, with
//     the same cursor, limit and Link header as GET /tasks. A heartbeat is
//     written to the store, then to the HeartbeatSink (the NATS presence
//     bucket); a sink failure is a 503 the agent retries.
package gateway
