package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"

	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// nonAPIRoutes are served by the app but are not API operations: the
// documentation pages and the document itself.
var nonAPIRoutes = []*regexp.Regexp{
	regexp.MustCompile(`^/docs$`),
	regexp.MustCompile(`^/redoc$`),
	regexp.MustCompile(`^/openapi(-3\.0)?\.(json|yaml)$`),
	regexp.MustCompile(`^/schemas/`),
}

// fullSetup is a gateway with every optional part on, so that the whole API
// is registered.
func fullSetup(t *testing.T) *bundle {
	t.Helper()
	conn, err := transport.Connect(t.Context(), transport.Options{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	must(t, conn.Setup(t.Context(), transport.SetupOptions{}))
	return setup(t, func(o *gateway.Options) {
		o.Canceller = &runner.Canceller{Tasks: o.Tasks.(store.Tasks), Nodes: &cancelRequests{}}
		o.DeadLetters = &fakeDLQ{}
		o.WebSocket = gateway.WebSocketOptions{Events: conn}
	})
}

// openAPIDoc fetches /openapi.json, raw and decoded.
func openAPIDoc(t *testing.T, b *bundle) ([]byte, map[string]any) {
	t.Helper()
	r := b.do(t, req{method: "GET", path: "/openapi.json"}).wantStatus(t, http.StatusOK)
	return r.body, r.object(t)
}

// fiberParam matches a Fiber path parameter, ":task_id".
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPICoversRoutes checks both directions: every route the Fiber app
// serves is documented, and every documented operation is served (the
// router neither 404s nor 405s it; a 401 or 400 from the operation is fine).
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	b := fullSetup(t)
	_, doc := openAPIDoc(t, b)
	paths := doc["paths"].(map[string]any)

	documented := map[string]bool{} // "GET /tasks/{task_id}"
	for path, item := range paths {
		for method := range item.(map[string]any) {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	served := map[string]bool{}
	for _, r := range b.srv.App().GetRoutes(true) {
		if r.Method == http.MethodHead || r.Method == http.MethodOptions || r.Method == "USE" {
			continue
		}
		if slices.ContainsFunc(nonAPIRoutes, func(re *regexp.Regexp) bool { return re.MatchString(r.Path) }) {
			continue
		}
		op := r.Method + " " + fiberParam.ReplaceAllString(r.Path, "{$1}")
		served[op] = true
		if !documented[op] {
			t.Errorf("%s is served but not in /openapi.json", op)
		}
	}

	for op := range documented {
		method, path, _ := strings.Cut(op, " ")
		// Any well-formed id: the request is refused (401) or answered, never routed nowhere.
		concrete := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "0190a7e4-0000-7000-8000-000000000001")
		r := b.do(t, req{method: method, path: concrete})
		if r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed {
			t.Errorf("%s is documented but %s %s answers %d: %s", op, method, concrete, r.status, r.body)
		}
		if !served[op] {
			t.Errorf("%s is documented but not among the app's routes", op)
		}
	}
	if len(documented) < 30 {
		t.Errorf("only %d operations documented; is the full API registered?", len(documented))
	}
}

// TestOpenAPIValid validates /openapi.json against the OpenAPI 3.1 schema
// and checks what a reader of the docs needs: every operation has a
// summary and a tag, and every request body a schema or an example.
func TestOpenAPIValid(t *testing.T) {
	t.Parallel()
	b := fullSetup(t)
	raw, doc := openAPIDoc(t, b)

	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi version %q, want 3.1.x", v)
	}
	d, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("libopenapi: %v", err)
	}
	if ok, errs := schema_validation.ValidateOpenAPIDocument(d); !ok {
		for _, e := range errs {
			t.Errorf("invalid document: %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
	model, err := d.BuildV3Model()
	if err != nil {
		t.Fatalf("build model: %v", err)
	}

	n := 0
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			n++
			name := strings.ToUpper(method) + " " + path
			if strings.TrimSpace(op.Summary) == "" {
				t.Errorf("%s has no summary", name)
			}
			if len(op.Tags) == 0 {
				t.Errorf("%s has no tag", name)
			}
			if op.OperationId == "" {
				t.Errorf("%s has no operationId", name)
			}
			if op.RequestBody == nil {
				continue
			}
			if op.RequestBody.Content == nil || op.RequestBody.Content.Len() == 0 {
				t.Errorf("%s has a request body without content", name)
				continue
			}
			for mt, media := range op.RequestBody.Content.FromOldest() {
				hasExample := media.Example != nil || (media.Examples != nil && media.Examples.Len() > 0)
				if media.Schema == nil && !hasExample {
					t.Errorf("%s: request body %s has neither a schema nor an example", name, mt)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no operations in the document")
	}
}

// seedExamples are the seed's example values, by operation and field: the
// document must show a reader the same request the seed's README does.
var seedExamples = map[string]map[string]any{
	"POST /auth/register": {"username": "john_doe", "email": "john@example.com", "password": "SecurePass123!",
		"first_name": "John", "last_name": "Doe"},
	"POST /auth/login": {"username": "john_doe", "password": "SecurePass123!"},
	"POST /agents": {"name": "My Coding Agent", "description": "Custom coding agent",
		"capabilities": []any{"python", "javascript"}, "config": map[string]any{"model": "gpt-4"}},
	"POST /agents/{agent_id}/heartbeat": {"status": "active"},
	"POST /tasks": {"name": "Generate API", "description": "Generate REST API for user management",
		"parameters": map[string]any{"language": "python", "framework": "fastapi"}, "priority": "high"},
}

// seedResponseExamples are fields of the seed's example responses whose
// value the document's response schema must show as its example.
var seedResponseExamples = map[string]map[string]any{
	"POST /auth/register":               {"token_type": "bearer", "user_id": nil},
	"POST /auth/login":                  {"token_type": "bearer"},
	"GET /users/me":                     {"username": "john_doe", "email": "john@example.com", "first_name": "John", "last_name": "Doe", "is_active": true},
	"POST /agents":                      {"status": "created", "agent_id": nil},
	"POST /agents/{agent_id}/heartbeat": {"status": "heartbeat_received"},
	"POST /tasks":                       {"status": "created", "task_id": nil},
	"GET /tasks/{task_id}":              {"name": "Generate API", "priority": "high", "status": "completed"},
	"GET /health":                       {"status": "healthy", "version": "1.0.0"},
}

// TestOpenAPISeedExamples checks that the seed's endpoints carry the
// seed's example values in their request and response schemas (nil: any
// example).
func TestOpenAPISeedExamples(t *testing.T) {
	t.Parallel()
	b := fullSetup(t)
	_, doc := openAPIDoc(t, b)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		if ref, ok := s["$ref"].(string); ok {
			return schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		}
		return s
	}
	operation := func(op string) map[string]any {
		method, path, _ := strings.Cut(op, " ")
		item, ok := doc["paths"].(map[string]any)[path].(map[string]any)
		if !ok {
			t.Fatalf("%s: path not documented", op)
		}
		o, ok := item[strings.ToLower(method)].(map[string]any)
		if !ok {
			t.Fatalf("%s: method not documented", op)
		}
		return o
	}
	check := func(what string, schema map[string]any, want map[string]any) {
		props, _ := resolve(schema)["properties"].(map[string]any)
		for field, value := range want {
			p, ok := props[field].(map[string]any)
			if !ok {
				t.Errorf("%s: no property %q", what, field)
				continue
			}
			p = resolve(p)
			examples, _ := p["examples"].([]any)
			if len(examples) == 0 {
				t.Errorf("%s.%s has no example", what, field)
				continue
			}
			if value == nil {
				continue
			}
			if got, _ := json.Marshal(examples[0]); string(got) != mustJSON(t, value) {
				t.Errorf("%s.%s example is %s, want the seed's %s", what, field, got, mustJSON(t, value))
			}
		}
	}
	for op, want := range seedExamples {
		body := operation(op)["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
		check(op+" request", body["schema"].(map[string]any), want)
	}
	for op, want := range seedResponseExamples {
		responses := operation(op)["responses"].(map[string]any)
		var ok map[string]any
		for _, code := range []string{"200", "201"} {
			if r, found := responses[code].(map[string]any); found {
				ok = r
			}
		}
		if ok == nil {
			t.Errorf("%s: no 200 or 201 response documented", op)
			continue
		}
		body := ok["content"].(map[string]any)["application/json"].(map[string]any)
		check(op+" response", body["schema"].(map[string]any), want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}
