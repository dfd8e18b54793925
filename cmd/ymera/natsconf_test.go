package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/transport"
)

// repoNatsConf copies the repository's nats.conf into a temp dir with a
// free client port, no monitoring port and its own store, and returns the
// copy's path and client URL.
func repoNatsConf(t *testing.T) (path, url string) {
	t.Helper()
	b, err := os.ReadFile("../../nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	dir := t.TempDir()
	conf := string(b)
	for old, repl := range map[string]string{
		"listen: 127.0.0.1:4222":   "listen: 127.0.0.1:" + port,
		"http: 127.0.0.1:8222\n":   "",
		`store_dir: "./data/nats"`: `store_dir: "` + filepath.Join(dir, "js") + `"`,
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("nats.conf no longer contains %q", old)
		}
		conf = strings.Replace(conf, old, repl, 1)
	}
	path = filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, "nats://127.0.0.1:" + port
}

// TestServeWithRepositoryNatsConf: `serve --nats-config nats.conf` starts
// with the repository's file, connecting as its all-in-one user; a service
// user with a plain nats.go client (no project code) publishes a task on
// its own subject, follows its events to completed, and the task is its
// owner's in GET /tasks. The same user publishing outside its subjects is
// refused by the server and the streams are unchanged.
func TestServeWithRepositoryNatsConf(t *testing.T) {
	conf, url := repoNatsConf(t)
	cfg := testConfig(t, map[string]string{
		"NATS_CONFIG": conf, "NATS_USER": "ymera", "NATS_PASSWORD": "change-me-ymera",
		"RATE_LIMIT_ENABLED": "false",
	})
	s, api := startTestSystem(t, cfg, benchNoopKind())

	// The YMERA account the nats.conf's service user submits as.
	var reg struct {
		AccessToken string `json:"access_token"`
		UserID      string `json:"user_id"`
	}
	api.mustJSON(http.MethodPost, "/auth/register", map[string]string{
		"username": "ci-bot", "email": "ci-bot@example.com", "password": "SecurePass123!",
	}, http.StatusCreated, &reg)
	api.token = reg.AccessToken

	asyncErrs := make(chan error, 16)
	nc, err := nats.Connect(url, nats.UserInfo("service", "change-me-service"),
		nats.CustomInboxPrefix("_INBOX_ci-bot"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case asyncErrs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	id := uuid.NewString()
	events, err := nc.SubscribeSync("ymera.events.task." + id)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"v": 1, "id": id, "name": "from a service", "task_type": "bench_noop",
		"parameters": map[string]any{}, "priority": "normal", "max_attempts": 2,
		"user_id": uuid.NewString(), // a claim the platform must ignore
		// From a publisher whose clock runs an hour ahead: the task is
		// recorded as made when it arrived.
		"created_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
	msg := &nats.Msg{Subject: "ymera.svc.ci-bot.tasks.bench_noop.normal", Data: body, Header: nats.Header{}}
	msg.Header.Set("Nats-Msg-Id", id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("service publish: %v", err)
	}
	for done := false; !done; {
		m, err := events.NextMsg(15 * time.Second)
		if err != nil {
			t.Fatalf("waiting for task.completed: %v", err)
		}
		var ev struct {
			Type   string `json:"type"`
			UserID string `json:"user_id"`
		}
		_ = json.Unmarshal(m.Data, &ev)
		if ev.Type == "task.failed" {
			t.Fatalf("task failed: %s", m.Data)
		}
		done = ev.Type == "task.completed"
	}
	tv := api.waitFinal(id, 15*time.Second)
	if tv.Status != "completed" {
		t.Fatalf("task %s: %+v", id, tv)
	}
	if tv.CreatedAt.After(time.Now()) {
		t.Errorf("task %s created at %s, in the future: the publisher's clock was taken", id, tv.CreatedAt)
	}
	var list []struct {
		ID string `json:"id"`
	}
	api.mustJSON(http.MethodGet, "/tasks", nil, http.StatusOK, &list)
	found := false
	for _, x := range list {
		found = found || x.ID == id
	}
	if !found {
		t.Fatalf("GET /tasks as ci-bot does not list %s: %+v", id, list)
	}

	// Outside its subjects: refused by the server, streams unchanged.
	before := streamStates(t, s.conn)
	for _, subj := range []string{
		"ymera.events.task." + id,
		"ymera.tasks.bench_noop.normal",
		"ymera.svc.someone-else.tasks.bench_noop.normal",
		"$JS.API.STREAM.DELETE." + transport.StreamTasks,
	} {
		if err := nc.Publish(subj, body); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-asyncErrs:
			if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Fatalf("publish on %s: %v, want a permissions violation", subj, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("publish on %s was not refused", subj)
		}
	}
	if after := streamStates(t, s.conn); after != before {
		t.Fatalf("streams changed:\nbefore %s\nafter  %s", before, after)
	}
}

// streamStates summarises the platform's streams: messages and consumers.
func streamStates(t *testing.T, c *transport.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	for _, name := range []string{transport.StreamTasks, transport.StreamDeadLetters, transport.StreamIntake} {
		st, err := c.JS().Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(name + ":" + strconv.FormatUint(info.State.Msgs, 10) + "/" + strconv.Itoa(info.State.Consumers) + " ")
	}
	return b.String()
}
