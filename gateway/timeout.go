package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
)

// defaultRequestTimeout is the seed's 30 s limit on one request's handling.
const defaultRequestTimeout = 30 * time.Second

// requestTimeout gives the rest of the chain a context that ends after d
// and answers 504 when it did. The timeout is cooperative: the handler's
// context is cancelled, and everything it waits on (the store, NATS) gives
// up, but the handler still returns on its own goroutine before the answer
// goes out. fasthttp's request context cannot be shared with a goroutine
// that outlives the handler, so answering while it still runs would race;
// Server's WriteTimeout bounds the rest.
func requestTimeout(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		parent := c.UserContext()
		ctx, cancel := context.WithTimeout(parent, d)
		defer cancel()
		c.SetUserContext(ctx)
		err := c.Next()
		c.SetUserContext(parent)
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) || parent.Err() != nil {
			return err
		}
		// Whatever the handler made of its cancelled context (often a 503
		// "unavailable") is replaced: the cause was our deadline.
		c.Response().ResetBody()
		return timeoutProblem(d)
	}
}

// timeoutProblem is the 504 of a request that took longer than d.
func timeoutProblem(d time.Duration) *Problem {
	return &Problem{
		Type:   ProblemTimeout,
		Title:  http.StatusText(http.StatusGatewayTimeout),
		Status: http.StatusGatewayTimeout,
		Detail: fmt.Sprintf("the request was not handled within %s; it may or may not have taken effect", d),
	}
}
