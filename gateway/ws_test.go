package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/gateway"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/supervisor"
	"github.com/ymera/ymera/transport"
)

// wsWait bounds every wait for a frame.
const wsWait = 15 * time.Second

// allowedOrigin is the one CORS origin of the WebSocket test servers.
const allowedOrigin = "https://app.example"

// wsBundle is a gateway with /ws on a real listener, an embedded NATS server
// with the YMERA streams, and a runner node processing security_scan tasks
// with release: each task waits for a value on it (or for the test's end).
type wsBundle struct {
	*bundle
	base    string
	conn    *transport.Conn
	release chan struct{}
}

func wsSetup(t *testing.T, opt ...func(*gateway.Options)) *wsBundle {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	conn, err := transport.Connect(t.Context(), transport.Options{DataDir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	must(t, conn.Setup(t.Context(), transport.SetupOptions{}))

	w := &wsBundle{conn: conn, release: make(chan struct{}, 16)}
	var db store.Tasks
	w.bundle = setup(t, func(o *gateway.Options) {
		db = o.Tasks.(store.Tasks)
		o.Submitter = &runner.Submitter{Tasks: db, Queue: wsQueue{conn}, Events: conn, Logger: log}
		o.WebSocket = gateway.WebSocketOptions{Events: conn}
		o.TaskWaiter = conn.NewTaskEnds()
		o.CORSOrigins = []string{allowedOrigin}
		for _, f := range opt {
			f(o)
		}
	})

	sup := supervisor.New(log)
	t.Cleanup(func() { sup.Shutdown(context.Background()) })
	agent := actors.Kind{Name: "security", TaskTypes: []string{"security_scan"}, New: func() actors.Agent {
		return wsAgent(func(ctx context.Context, _ actors.Task) (actors.Result, error) {
			select {
			case <-w.release:
			case <-ctx.Done():
				return actors.Result{}, ctx.Err()
			}
			return actors.JSONResult(map[string]string{"ok": "yes"})
		})
	}}
	node, err := runner.StartNode(t.Context(), runner.NodeConfig{
		Conn: conn, Tasks: db, Supervisor: sup, Kinds: []actors.Kind{agent},
		Workers: 1, TaskTimeout: 30 * time.Second, AckWait: 5 * time.Second, Logger: log,
		// Every start recorded (and announced) before the agent runs, so
		// that each task lives the whole lifecycle these tests follow.
		StartDelay: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		node.Stop(ctx)
	})
	w.base = w.serve(t)
	return w
}

type wsQueue struct{ c *transport.Conn }

func (q wsQueue) PublishTask(ctx context.Context, t actors.Task) error {
	_, err := q.c.PublishTask(ctx, t)
	return err
}

type wsAgent func(context.Context, actors.Task) (actors.Result, error)

func (f wsAgent) Process(ctx context.Context, t actors.Task) (actors.Result, error) { return f(ctx, t) }

// wsURL is the /ws address with an optional query.
func (w *wsBundle) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(w.base, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	return u
}

// dial opens /ws with header and returns the connection, or the refused
// handshake's response.
func (w *wsBundle) dial(t *testing.T, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wsWait)
	defer cancel()
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, w.wsURL(query), header)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// connect opens /ws with a bearer header; it must succeed.
func (w *wsBundle) connect(t *testing.T, token string) *websocket.Conn {
	t.Helper()
	c, resp, err := w.dial(t, "", http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	return c
}

// frame is a server frame as a client decodes it.
type frame struct {
	Type    string          `json:"type"`
	Topic   string          `json:"topic"`
	ID      string          `json:"id"`
	Seq     uint64          `json:"seq"`
	Since   *uint64         `json:"since"`
	Event   transport.Event `json:"event"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

func send(t *testing.T, c *websocket.Conn, msg any) {
	t.Helper()
	must(t, c.SetWriteDeadline(time.Now().Add(wsWait)))
	must(t, c.WriteJSON(msg))
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	must(t, c.SetReadDeadline(time.Now().Add(wsWait)))
	var f frame
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

// subscribe sends a subscription and expects its confirmation.
func subscribe(t *testing.T, c *websocket.Conn, msg map[string]any) {
	t.Helper()
	msg["type"] = "subscribe"
	send(t, c, msg)
	if f := read(t, c); f.Type != "subscribed" || f.Topic != msg["topic"] {
		t.Fatalf("subscribe %v: got %+v", msg, f)
	}
}

// closeCode reads until the server closes c and returns the close code.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	must(t, c.SetReadDeadline(time.Now().Add(wsWait)))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("connection ended without a close frame: %v", err)
			}
			return ce.Code
		}
	}
}

// events reads event frames of task id (skipping other frames) until one of
// type last arrives.
func events(t *testing.T, c *websocket.Conn, taskID, last string) []frame {
	t.Helper()
	var got []frame
	for {
		f := read(t, c)
		if f.Type != "event" {
			t.Fatalf("unexpected frame %+v", f)
		}
		if f.Event.TaskID != taskID {
			t.Fatalf("event of another task: %+v", f)
		}
		got = append(got, f)
		if f.Event.Type == last {
			return got
		}
	}
}

func types(fs []frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Event.Type
	}
	return out
}

func TestWSTaskLifecycleInOrder(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, aliceID := w.register(t, "alice")
	bob, _ := w.register(t, "bob")

	c := w.connect(t, alice)
	subscribe(t, c, map[string]any{"topic": "tasks"})
	// Bob's task comes first in the stream; Alice must never see it.
	w.release <- struct{}{}
	w.submit(t, bob, task("bob's"))
	w.release <- struct{}{}
	id := w.submit(t, alice, task("alice's"))

	got := events(t, c, id, transport.EventTaskCompleted)
	want := []string{transport.EventTaskQueued, transport.EventTaskStarted, transport.EventTaskCompleted}
	if strings.Join(types(got), ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", types(got), want)
	}
	for i, f := range got {
		if f.Topic != "tasks" || f.Event.UserID != aliceID || f.Seq == 0 || (i > 0 && f.Seq <= got[i-1].Seq) {
			t.Fatalf("event %d: %+v", i, f)
		}
	}
	if got[2].Event.Status != string(actors.StatusCompleted) {
		t.Errorf("completed event status %q", got[2].Event.Status)
	}
}

func TestWSResumeMissesNothing(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, _ := w.register(t, "alice")

	c := w.connect(t, alice)
	subscribe(t, c, map[string]any{"topic": "tasks"})
	id := w.submit(t, alice, task("resumed"))
	first := read(t, c)
	if first.Type != "event" || first.Event.Type != transport.EventTaskQueued || first.Event.TaskID != id {
		t.Fatalf("first frame %+v", first)
	}
	must(t, c.Close()) // gone mid-way: the task has not finished

	w.release <- struct{}{}
	for deadline := time.Now().Add(wsWait); ; {
		st, err := w.db.Tasks().Get(t.Context(), id)
		must(t, err)
		if st.Status.Final() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %s", st.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Reconnect by id this time, with the last sequence seen: the rest,
	// each once, nothing before it.
	c = w.connect(t, alice)
	send(t, c, map[string]any{"type": "subscribe", "topic": "task", "id": id, "since": first.Seq})
	if f := read(t, c); f.Type != "subscribed" || f.Since == nil || *f.Since != first.Seq {
		t.Fatalf("resubscribe: %+v", f)
	}
	rest := events(t, c, id, transport.EventTaskCompleted)
	if got := strings.Join(types(rest), ","); got != "task.started,task.completed" {
		t.Fatalf("after resume got %s", got)
	}
	if rest[0].Seq <= first.Seq || rest[0].Topic != "task" || rest[0].ID != id {
		t.Fatalf("resumed event %+v after seq %d", rest[0], first.Seq)
	}
}

func TestWSHandshakeRefusals(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, _ := w.register(t, "alice")

	cases := []struct {
		name   string
		query  string
		header http.Header
		status int
		typ    string
	}{
		{"no token", "", nil, http.StatusUnauthorized, gateway.ProblemUnauthorized},
		{"garbage token", "", http.Header{"Authorization": {"Bearer not-a-jwt"}}, http.StatusUnauthorized, gateway.ProblemUnauthorized},
		{"garbage query token", "token=abc", nil, http.StatusUnauthorized, gateway.ProblemUnauthorized},
		{"unlisted origin", "", http.Header{"Authorization": {"Bearer " + alice}, "Origin": {"https://evil.example"}},
			http.StatusForbidden, gateway.ProblemForbidden},
		{"token subprotocol without ymera.v1", "", http.Header{"Sec-WebSocket-Protocol": {"bearer." + alice}},
			http.StatusBadRequest, gateway.ProblemValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := w.dial(t, tc.query, tc.header)
			if err == nil {
				c.Close()
				t.Fatal("upgraded, want a refusal")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("response %v, want %d", resp, tc.status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}

	// A plain GET is not an upgrade.
	resp := w.do(t, req{method: "GET", path: "/ws", token: alice})
	resp.problem(t, http.StatusUpgradeRequired, "about:blank")
}

func TestWSHandshakeAccepts(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, _ := w.register(t, "alice")

	// A browser: listed origin, token in the subprotocol, ymera.v1 echoed.
	c, resp, err := w.dial(t, "", http.Header{
		"Origin":                 {allowedOrigin},
		"Sec-WebSocket-Protocol": {"ymera.v1, bearer." + alice},
	})
	if err != nil {
		t.Fatalf("browser dial: %v %v", err, resp)
	}
	if got := c.Subprotocol(); got != "ymera.v1" {
		t.Errorf("subprotocol %q, want ymera.v1 only", got)
	}
	send(t, c, map[string]any{"type": "ping"})
	if f := read(t, c); f.Type != "pong" {
		t.Fatalf("ping answered with %+v", f)
	}

	// The token as a query parameter, from the gateway's own origin.
	c, resp, err = w.dial(t, "token="+url.QueryEscape(alice), http.Header{"Origin": {w.base}})
	if err != nil {
		t.Fatalf("query-token dial: %v %v", err, resp)
	}
	subscribe(t, c, map[string]any{"topic": "agents"})

	// /ws is in the OpenAPI document, although huma does not serve it.
	doc := w.do(t, req{method: "GET", path: "/openapi.json"}).wantStatus(t, http.StatusOK).object(t)
	op, _ := doc["paths"].(map[string]any)["/ws"].(map[string]any)["get"].(map[string]any)
	responses, _ := op["responses"].(map[string]any)
	if op["operationId"] != "websocket" || responses["101"] == nil || responses["401"] == nil || responses["403"] == nil {
		t.Errorf("/ws documented as %v", op)
	}
}

func TestWSOtherUsersTopicsRefused(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, aliceID := w.register(t, "alice")
	bob, _ := w.register(t, "bob")
	w.release <- struct{}{}
	bobsTask := w.submit(t, bob, task("bob's"))

	projectID := uuid.Must(uuid.NewV7()).String()
	must(t, w.db.Projects().Create(t.Context(), store.Project{ID: projectID, Name: "alice's", OwnerID: aliceID}))

	c := w.connect(t, bob)
	for _, m := range []map[string]any{
		{"type": "subscribe", "topic": "task", "id": uuid.Must(uuid.NewV7()).String()}, // no such task
		{"type": "subscribe", "topic": "project", "id": projectID},                     // alice's
	} {
		send(t, c, m)
		if f := read(t, c); f.Type != "error" || f.Code != "not_found" || f.ID != m["id"] {
			t.Errorf("%v answered %+v, want a not_found error", m, f)
		}
	}
	subscribe(t, c, map[string]any{"topic": "task", "id": bobsTask})

	a := w.connect(t, alice)
	send(t, a, map[string]any{"type": "subscribe", "topic": "task", "id": bobsTask})
	if f := read(t, a); f.Type != "error" || f.Code != "not_found" {
		t.Fatalf("alice subscribing to bob's task: %+v", f)
	}
	// The owner gets the project's events; agent presence is per owner.
	subscribe(t, a, map[string]any{"topic": "project", "id": projectID})
	subscribe(t, a, map[string]any{"topic": "agents"})
	must(t, w.conn.PublishEvent(t.Context(), transport.Event{Type: transport.EventAgentOnline, AgentID: "bobs-agent", UserID: "someone-else"}))
	must(t, w.conn.PublishEvent(t.Context(), transport.Event{Type: transport.EventAgentOnline, AgentID: "alices-agent", UserID: aliceID}))
	must(t, w.conn.PublishEvent(t.Context(), transport.Event{Type: "project.updated", ProjectID: projectID, UserID: aliceID}))
	seen := map[string]frame{}
	for len(seen) < 2 {
		f := read(t, a)
		if f.Type != "event" {
			t.Fatalf("unexpected %+v", f)
		}
		seen[f.Topic] = f
	}
	if f := seen["agents"]; f.Event.AgentID != "alices-agent" {
		t.Errorf("agents topic delivered %+v first", f)
	}
	if f := seen["project"]; f.Event.ProjectID != projectID || f.ID != projectID {
		t.Errorf("project topic delivered %+v", f)
	}
}

func TestWSBadMessages(t *testing.T) {
	t.Parallel()
	w := wsSetup(t, func(o *gateway.Options) { o.WebSocket.MaxMessageBytes = 1024 })
	alice, _ := w.register(t, "alice")
	c := w.connect(t, alice)

	for _, raw := range []string{
		`not json`,
		`{"type":"dance"}`,
		`{"type":"subscribe","topic":"task","id":"../../etc"}`,
		`{"type":"subscribe","topic":"tasks","since":-1}`,
		`{"type":"subscribe","topic":"everything"}`,
		`{"type":"unsubscribe","topic":"agents"}`,
	} {
		must(t, c.WriteMessage(websocket.TextMessage, []byte(raw)))
		f := read(t, c)
		if f.Type != "error" || (f.Code != "bad_request" && f.Code != "not_subscribed") || f.Message == "" {
			t.Errorf("%s answered %+v", raw, f)
		}
	}

	// A frame over the limit ends the connection with 1009.
	must(t, c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 2048)+`"}`)))
	if code := closeCode(t, c); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestWSRateLimitCloses(t *testing.T) {
	t.Parallel()
	w := wsSetup(t, func(o *gateway.Options) {
		o.WebSocket.MessagesPerSecond = 0.001 // no refill during the test
		o.WebSocket.Burst = 2
	})
	alice, _ := w.register(t, "alice")
	c := w.connect(t, alice)
	for range 20 {
		if err := c.WriteJSON(map[string]string{"type": "ping"}); err != nil {
			break // closed already
		}
	}
	limited := false
	must(t, c.SetReadDeadline(time.Now().Add(wsWait)))
	for {
		var f frame
		err := c.ReadJSON(&f)
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != websocket.ClosePolicyViolation {
				t.Fatalf("close code %d, want 1008", ce.Code)
			}
			break
		}
		must(t, err)
		limited = limited || (f.Type == "error" && f.Code == "rate_limited")
	}
	if !limited {
		t.Error("no rate_limited error frame before the close")
	}
}

func TestWSShutdownClosesGoingAway(t *testing.T) {
	t.Parallel()
	w := wsSetup(t)
	alice, _ := w.register(t, "alice")
	c := w.connect(t, alice)
	subscribe(t, c, map[string]any{"topic": "tasks"})

	ctx, cancel := context.WithTimeout(t.Context(), wsWait)
	defer cancel()
	// The client reads only after Shutdown returns, so the server waits out
	// its close grace for the echo; a reading client answers at once.
	must(t, w.srv.Shutdown(ctx))
	if code := closeCode(t, c); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
}

func TestWSLogoutEndsConnection(t *testing.T) {
	t.Parallel()
	w := wsSetup(t, func(o *gateway.Options) { o.WebSocket.PingInterval = 100 * time.Millisecond })
	alice, _ := w.register(t, "alice")
	c := w.connect(t, alice)
	subscribe(t, c, map[string]any{"topic": "tasks"})

	if r := w.do(t, req{method: "POST", path: "/auth/logout", token: alice}); r.status >= 300 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if code := closeCode(t, c); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	// And the token no longer opens one.
	if _, resp, err := w.dial(t, "", http.Header{"Authorization": {"Bearer " + alice}}); err == nil || resp == nil ||
		resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial with a revoked token: %v %v", err, resp)
	}
}
