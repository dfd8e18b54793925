package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/nats-io/nuid"
)

// requestIDHeader carries the request id in both directions.
const requestIDHeader = "X-Request-ID"

// useMiddleware installs the chain every request goes through, in the
// seed's order; mw holds the steps New built from Options.
func useMiddleware(app *fiber.App, log *slog.Logger, mw chain) {
	app.Use(
		assignRequestID(),  // first, so that every later step can log with it
		mw.metrics,         // outside logging, which turns errors into responses: sees the status sent
		logRequests(log),   // 1. request logging, X-Response-Time
		recoverPanics(log), // inside logging, so a panic is logged as the 500 it became
		mw.timeout,         // 2. timeout (30 s, 504)
		// 3. request size limit: fiber.Config.BodyLimit refuses a body over
		//    10 MB while reading it, before any of this runs (413).
		mw.securityHeaders, // 4. security headers
		mw.rateLimit,       // 5. rate limit per user or address
		mw.cors,            // 6. CORS
	)
	// Logins are limited per address and account on top of step 5.
	app.Use("/auth/login", mw.loginLimit)
}

// requestIDKey is the context key of the request id.
type requestIDKey struct{}

// requestIDFrom returns the request id in ctx, or "".
func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// assignRequestID keeps the client's X-Request-ID when it is a sane token
// (so a request can be traced across services) and makes one otherwise. The
// id is echoed in the response and put in the request context.
func assignRequestID() fiber.Handler {
	return func(c *fiber.Ctx) error {
		// Fiber's strings point into a buffer reused after the request: copy.
		id := strings.Clone(c.Get(requestIDHeader))
		if !validRequestID(id) {
			// Unique, not secret: a random prefix and a counter (what
			// NATS names inboxes with), where crypto/rand cost a system
			// call per request (0.9 % of a busy gateway's CPU).
			id = nuid.Next()
		}
		c.Set(requestIDHeader, id)
		c.SetUserContext(context.WithValue(c.UserContext(), requestIDKey{}, id))
		return c.Next()
	}
}

// validRequestID accepts 1 to 128 visible ASCII characters: enough for
// UUIDs and trace ids, nothing that could break a header or a log line.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// logRequests logs one line per request and sets X-Response-Time. An error
// from the rest of the chain is turned into its response here, so the status
// logged is the status sent. Durations use the monotonic clock, not
// Options.Now.
func logRequests(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				log.ErrorContext(c.UserContext(), "gateway: error handler failed",
					"request_id", requestIDFrom(c.UserContext()), "err", herr)
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		d := time.Since(start)
		// "1.234ms", formatted into a stack buffer: this runs on every request.
		var buf [32]byte
		rt := strconv.AppendFloat(buf[:0], float64(d)/float64(time.Millisecond), 'f', 3, 64)
		c.Response().Header.SetBytesV("X-Response-Time", append(rt, "ms"...))

		status := c.Response().StatusCode()
		level := slog.LevelInfo
		if status >= fiber.StatusInternalServerError {
			level = slog.LevelError
		}
		log.LogAttrs(c.UserContext(), level, "http request",
			slog.String("method", c.Method()),
			slog.String("path", c.Path()),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.String("request_id", requestIDFrom(c.UserContext())),
		)
		return nil
	}
}

// recoverPanics turns a panic in a handler into a 500 problem, logging the
// panic value and stack with the request id; the server keeps serving.
func recoverPanics(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(c.UserContext(), "gateway: panic in handler",
					"request_id", requestIDFrom(c.UserContext()),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = internalProblem()
			}
		}()
		return c.Next()
	}
}
