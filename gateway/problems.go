package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"github.com/ymera/ymera/store"
)

// Problem types: the stable "type" URI of each kind of failure. Clients
// branch on these, never on titles or details.
const (
	ProblemValidation       = "https://ymera.dev/problems/validation"
	ProblemUnauthorized     = "https://ymera.dev/problems/unauthorized"
	ProblemForbidden        = "https://ymera.dev/problems/forbidden"
	ProblemNotFound         = "https://ymera.dev/problems/not-found"
	ProblemMethodNotAllowed = "https://ymera.dev/problems/method-not-allowed"
	ProblemNotAcceptable    = "https://ymera.dev/problems/not-acceptable"
	ProblemTimeout          = "https://ymera.dev/problems/timeout"
	ProblemConflict         = "https://ymera.dev/problems/conflict"
	ProblemTooLarge         = "https://ymera.dev/problems/too-large"
	ProblemUnsupportedMedia = "https://ymera.dev/problems/unsupported-media-type"
	ProblemUnknownTaskType  = "https://ymera.dev/problems/unknown-task-type"
	ProblemRateLimited      = "https://ymera.dev/problems/rate-limited"
	ProblemUnavailable      = "https://ymera.dev/problems/unavailable"
	ProblemInternal         = "https://ymera.dev/problems/internal"
)

// problemContentType is the media type of every error body (RFC 9457).
const problemContentType = "application/problem+json"

// retryAfterSeconds is what a 503 asks clients to wait before retrying.
const retryAfterSeconds = "5"

// Problem is an RFC 9457 problem details object: the body of every error
// response of this API.
type Problem struct {
	// Type identifies the kind of problem; one of the Problem* constants.
	Type string `json:"type" doc:"URI identifying the kind of problem"`
	// Title is the status text; it does not vary between occurrences.
	Title string `json:"title" doc:"Short summary of the kind of problem"`
	// Status repeats the HTTP status code.
	Status int `json:"status" doc:"HTTP status code"`
	// Detail explains this occurrence to a human.
	Detail string `json:"detail" doc:"What went wrong with this request"`
	// Errors lists the individual invalid fields of a validation problem.
	Errors []ProblemError `json:"errors,omitempty" doc:"Individual errors, e.g. one per invalid field"`

	// headers go out with the response: Retry-After, WWW-Authenticate.
	headers http.Header
}

// ProblemError is one invalid part of a request.
type ProblemError struct {
	// Location is where: "body.priority", "query.limit", "path.task_id".
	Location string `json:"location,omitempty" doc:"Where the error is, e.g. body.priority or query.limit"`
	// Message says what is wrong there.
	Message string `json:"message" doc:"What is wrong"`
	// Value echoes the offending value, except for whole bodies and
	// secrets, which are never echoed.
	Value any `json:"value,omitempty" doc:"The offending value"`
}

// Error makes a Problem an error that handlers return; huma writes it.
func (p *Problem) Error() string { return p.Detail }

// GetStatus tells huma the response status.
func (p *Problem) GetStatus() int { return p.Status }

// GetHeaders tells huma the headers to send with the problem.
func (p *Problem) GetHeaders() http.Header { return p.headers }

// ContentType makes huma send application/problem+json.
func (p *Problem) ContentType(string) string { return problemContentType }

// newProblem returns a problem of the standard type for status.
func newProblem(status int, detail string) *Problem {
	return &Problem{Type: problemTypeFor(status), Title: http.StatusText(status), Status: status, Detail: detail}
}

// withHeader adds a response header to p and returns p.
func (p *Problem) withHeader(name, value string) *Problem {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	p.headers.Add(name, value)
	return p
}

// problemTypeFor is the type of a problem that only its status describes.
func problemTypeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return ProblemValidation
	case http.StatusUnauthorized:
		return ProblemUnauthorized
	case http.StatusForbidden:
		return ProblemForbidden
	case http.StatusNotFound:
		return ProblemNotFound
	case http.StatusMethodNotAllowed:
		return ProblemMethodNotAllowed
	case http.StatusNotAcceptable:
		return ProblemNotAcceptable
	case http.StatusRequestTimeout:
		return ProblemTimeout
	case http.StatusConflict:
		return ProblemConflict
	case http.StatusRequestEntityTooLarge:
		return ProblemTooLarge
	case http.StatusUnsupportedMediaType:
		return ProblemUnsupportedMedia
	case http.StatusTooManyRequests:
		return ProblemRateLimited
	case http.StatusServiceUnavailable:
		return ProblemUnavailable
	}
	if status >= 500 {
		return ProblemInternal
	}
	// RFC 9457: about:blank says the status code is all there is to know.
	return "about:blank"
}

// validationProblem is a 400 naming one invalid field.
func validationProblem(location, message string, value any) *Problem {
	p := newProblem(http.StatusBadRequest, "")
	p.Errors = []ProblemError{{Location: location, Message: message, Value: value}}
	p.Detail = summarize("validation failed", p.Errors)
	return p
}

// unavailableProblem is a 503 that invites a retry.
func unavailableProblem() *Problem {
	return newProblem(http.StatusServiceUnavailable, "a service the request needs is unavailable; retry later").
		withHeader("Retry-After", retryAfterSeconds)
}

// internalProblem is a 500 that tells the client nothing about the cause,
// which may be SQL, an address or a stack: the cause is logged instead.
func internalProblem() *Problem {
	return newProblem(http.StatusInternalServerError, "an internal error occurred; it has been logged")
}

// details phrases the 404 and 409 problems for the resource at hand; empty
// fields fall back to generic wording.
type details struct {
	notFound string
	conflict string
}

// problemFor is the one place where errors from the store and the submitter
// become statuses: ErrNotFound 404, ErrConflict 409, ErrUnavailable (and a
// deadline) 503 with Retry-After, anything else 500. The cause of a 5xx is
// logged with the request id and never sent to the client.
func problemFor(ctx context.Context, log *slog.Logger, err error, d details) *Problem {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return newProblem(http.StatusNotFound, cmp.Or(d.notFound, "the resource does not exist"))
	case errors.Is(err, store.ErrConflict):
		return newProblem(http.StatusConflict, cmp.Or(d.conflict, "the request conflicts with the resource's current state"))
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		log.WarnContext(ctx, "gateway: dependency unavailable", "request_id", requestIDFrom(ctx), "err", err)
		return unavailableProblem()
	}
	log.ErrorContext(ctx, "gateway: internal error", "request_id", requestIDFrom(ctx), "err", err)
	return internalProblem()
}

// handleError is Fiber's error handler: whatever escapes the middleware
// chain (an unknown route, a wrong method, a body over the limit, a panic)
// still answers with a problem.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var p *Problem
	var fe *fiber.Error
	switch {
	case errors.As(err, &p):
	case errors.As(err, &fe):
		p = fiberProblem(c, fe)
	default:
		p = problemFor(c.UserContext(), s.log, err, details{})
	}
	return writeProblem(c, p)
}

// fiberProblem describes one of Fiber's own errors. Fiber's messages are not
// used as details: some carry fasthttp parser internals.
func fiberProblem(c *fiber.Ctx, fe *fiber.Error) *Problem {
	switch fe.Code {
	case http.StatusNotFound:
		return newProblem(fe.Code, fmt.Sprintf("no route matches %s %s", c.Method(), truncate(c.Path(), 200)))
	case http.StatusMethodNotAllowed:
		return newProblem(fe.Code, fmt.Sprintf("method %s is not allowed on %s", c.Method(), truncate(c.Path(), 200)))
	case http.StatusRequestEntityTooLarge:
		return newProblem(fe.Code, fmt.Sprintf("the request body exceeds the limit of %d bytes", bodyLimit))
	case http.StatusRequestTimeout:
		return newProblem(fe.Code, "the request was not received in time")
	}
	if fe.Code >= 500 {
		return internalProblem()
	}
	return newProblem(fe.Code, http.StatusText(fe.Code))
}

// writeProblem answers with p outside huma (from Fiber's error handler).
func writeProblem(c *fiber.Ctx, p *Problem) error {
	for name, values := range p.headers {
		for _, v := range values {
			c.Append(name, v)
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("gateway: encode problem: %w", err)
	}
	c.Set(fiber.HeaderContentType, problemContentType)
	return c.Status(p.Status).Send(body)
}

// The rest of this file adapts the errors huma makes itself (a body that is
// not JSON or does not match the schema, a bad query parameter, a body over
// an operation's limit) to our problems. huma builds them with its
// package-level huma.NewError and writes them with the status it chose,
// which is 422 for schema validation. Replacing huma.NewError would change
// a process-wide variable, so instead, per API:
//
//   - problemTransformer, a huma Transformer, sees every response body just
//     before it is encoded; it replaces a *huma.ErrorModel with a Problem,
//     turning 422 into 400 and keeping no internal error text;
//   - huma then sets the status line from the status it had chosen, after
//     the transformer ran; problemStatus, the first huma middleware, wraps
//     the context of every operation in a problemContext, whose SetStatus
//     applies the status the transformer decided.
//
// Our own problems (including the 422 of an unknown task type) are
// *Problem, not *huma.ErrorModel, so they pass through untouched.

// humaContext lets problemContext embed huma.Context under a name that does
// not hide its Context method.
type humaContext = huma.Context

// problemContext is the huma.Context every operation runs with.
type problemContext struct {
	humaContext
	// status, when not zero, replaces the status huma writes.
	status int
}

// SetStatus writes the transformer's status when it chose one.
func (c *problemContext) SetStatus(code int) {
	if c.status != 0 {
		code = c.status
	}
	c.humaContext.SetStatus(code)
}

// Unwrap lets humafiber.Unwrap and problemTransformer see through the wrapper.
func (c *problemContext) Unwrap() huma.Context { return c.humaContext }

// problemStatus is the huma middleware that installs a problemContext.
func problemStatus(ctx huma.Context, next func(huma.Context)) {
	next(&problemContext{humaContext: ctx})
}

// findProblemContext looks through the wrappers huma and our middleware put
// around the context (huma.WithValue adds one) for the problemContext.
func findProblemContext(ctx huma.Context) *problemContext {
	for {
		if pc, ok := ctx.(*problemContext); ok {
			return pc
		}
		u, ok := ctx.(interface{ Unwrap() huma.Context })
		if !ok {
			return nil
		}
		ctx = u.Unwrap()
	}
}

// documentSchemaErrorsAs400 corrects the OpenAPI document after the routes
// are registered: huma documents a 422 for every operation with input, which
// problemTransformer sends as a 400. An operation keeps its 422 only when it
// listed 422 in its own Errors, which huma then holds twice.
func documentSchemaErrorsAs400(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil {
				continue
			}
			n := 0
			for _, code := range op.Errors {
				if code == http.StatusUnprocessableEntity {
					n++
				}
			}
			if n < 2 {
				delete(op.Responses, "422")
			}
		}
	}
}

// problemTransformer replaces huma's error bodies with Problems.
func problemTransformer(log *slog.Logger) huma.Transformer {
	return func(ctx huma.Context, _ string, v any) (any, error) {
		em, ok := v.(*huma.ErrorModel)
		if !ok {
			return v, nil
		}
		p := fromHumaError(ctx.Context(), log, em)
		if p.Status != em.Status {
			if pc := findProblemContext(ctx); pc != nil {
				pc.status = p.Status
			} else {
				// Cannot change the status line: keep body and status in agreement.
				p.Status, p.Title = em.Status, http.StatusText(em.Status)
			}
		}
		return p, nil
	}
}

// fromHumaError converts one of huma's errors.
func fromHumaError(ctx context.Context, log *slog.Logger, em *huma.ErrorModel) *Problem {
	status := em.Status
	if status >= 500 {
		// huma wraps a plain error returned by a handler as a 500 whose details
		// are the error text: log them, send nothing.
		msgs := make([]string, 0, len(em.Errors))
		for _, d := range em.Errors {
			if d != nil {
				msgs = append(msgs, d.Error())
			}
		}
		log.ErrorContext(ctx, "gateway: internal error", "request_id", requestIDFrom(ctx),
			"err", em.Detail, "errors", msgs)
		return internalProblem()
	}
	if status == http.StatusUnprocessableEntity {
		// Schema validation: the request is malformed, so 400 (422 is ours).
		status = http.StatusBadRequest
	}
	p := newProblem(status, "")
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		pe := ProblemError{Location: d.Location, Message: d.Message, Value: d.Value}
		if !echoable(d.Location) {
			pe.Value = nil
		}
		p.Errors = append(p.Errors, pe)
	}
	p.Detail = summarize(em.Detail, p.Errors)
	return p
}

// echoable reports whether the value at location may be sent back to the
// client: not a whole body (huma attaches the raw body to a parse error, and
// it may hold a password), not a header (Authorization), not a password.
func echoable(location string) bool {
	return location != "body" && !strings.HasPrefix(location, "header") &&
		!strings.Contains(strings.ToLower(location), "password")
}

// summarize builds a detail that names every error, and the offending value
// when it may be echoed, so a client reading only "detail" learns enough.
func summarize(msg string, errs []ProblemError) string {
	if len(errs) == 0 {
		return msg
	}
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		part := e.Message
		if e.Location != "" {
			part = e.Location + ": " + part
		}
		if e.Value != nil {
			if b, err := json.Marshal(e.Value); err == nil {
				part += " (got " + truncate(string(b), 100) + ")"
			}
		}
		parts = append(parts, part)
	}
	return msg + ": " + strings.Join(parts, "; ")
}

// truncate shortens s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
