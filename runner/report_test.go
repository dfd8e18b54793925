package runner_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/transport"
)

// extAgent is an agent outside the platform: a plain nats.go client with no
// project code on its side, speaking docs/protocol.md.
type extAgent struct {
	nc   *nats.Conn
	cons jetstream.Consumer
}

// setupReports starts the real SQLite store, an embedded NATS server with
// a TCP listener, the results service, and an external agent's connection
// with its consumer for taskType at normal priority, declared as the
// protocol says.
func setupReports(t *testing.T, taskType string) (*sqlite.DB, *transport.Conn, *extAgent) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "ymera.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := transport.Connect(ctx, transport.Options{DataDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if err := conn.Setup(ctx, transport.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := runner.StartReportService(runner.ReportConfig{Conn: conn, Tasks: db.Tasks(), RetryBase: 1.01, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)

	nc, err := nats.Connect(conn.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "YMERA_TASKS", jetstream.ConsumerConfig{
		Durable:        "agent_" + taskType + "_normal",
		FilterSubjects: []string{"ymera.tasks." + taskType + ".normal"},
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     5,
		BackOff:        []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute},
		MaxAckPending:  1024,
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, conn, &extAgent{nc: nc, cons: cons}
}

// publish submits a task the way a service does with a raw client: the task
// JSON with "v" on its subject, the task id as Nats-Msg-Id.
func (a *extAgent) publish(t *testing.T, id, taskType, params string, maxAttempts int) {
	t.Helper()
	body := `{"v":1,"id":"` + id + `","name":"ext","task_type":"` + taskType + `","priority":"normal",` +
		`"parameters":` + params + `,"max_attempts":` + string(rune('0'+maxAttempts)) + `,"created_at":"2025-01-01T00:00:00Z"}`
	msg := &nats.Msg{Subject: "ymera.tasks." + taskType + ".normal", Data: []byte(body), Header: nats.Header{}}
	msg.Header.Set("Nats-Msg-Id", id)
	js, err := jetstream.New(a.nc)
	if err != nil {
		t.Fatal(err)
	}
	// The jetstream publish retries "no responders" while the stream's
	// leader is being chosen, as any publisher should.
	if _, err := js.PublishMsg(t.Context(), msg, jetstream.WithRetryAttempts(20)); err != nil {
		t.Fatal(err)
	}
}

func (a *extAgent) fetch(t *testing.T) jetstream.Msg {
	t.Helper()
	batch, err := a.cons.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		return m
	}
	t.Fatalf("no task delivered within 10 s: %v", batch.Error())
	return nil
}

// report sends a request to the results service and returns the reply body
// and its error code header ("" for success).
func (a *extAgent) report(t *testing.T, subject string, body any) (map[string]any, string) {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	reply, err := a.nc.Request(subject, data, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(reply.Data, &out); err != nil {
		t.Fatalf("reply %q is not JSON: %v", reply.Data, err)
	}
	return out, reply.Header.Get("Nats-Service-Error-Code")
}

func lease(t *testing.T, m jetstream.Msg) uint64 {
	t.Helper()
	md, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	return md.Sequence.Stream
}

func TestReportStartResultCompletesOnce(t *testing.T) {
	db, _, a := setupReports(t, "ext_echo")
	id := newTask("ext_echo", "").ID
	events, err := a.nc.SubscribeSync("ymera.events.task." + id)
	if err == nil {
		err = a.nc.Flush() // the server has the subscription before any event
	}
	if err != nil {
		t.Fatal(err)
	}
	a.publish(t, id, "ext_echo", `{"text":"hi"}`, 3)

	m := a.fetch(t)
	l := lease(t, m)
	got, code := a.report(t, transport.ReportStartSubject, map[string]any{"v": 1, "task_id": id, "lease": l, "agent_id": "ext-1"})
	if code != "" || got["ok"] != true || got["attempt"] != float64(1) {
		t.Fatalf("start: code %q reply %v", code, got)
	}
	got, code = a.report(t, transport.ReportResultSubject, map[string]any{"v": 1, "task_id": id, "lease": l,
		"status": "completed", "result": map[string]any{"echo": map[string]any{"text": "hi"}}})
	if code != "" || got["ok"] != true || got["action"] != "ack" || got["status"] != "completed" {
		t.Fatalf("result: code %q reply %v", code, got)
	}
	if err := m.DoubleAck(t.Context()); err != nil {
		t.Fatal(err)
	}

	// The same result again, for the same lease: refused, nothing changes.
	got, code = a.report(t, transport.ReportResultSubject, map[string]any{"v": 1, "task_id": id, "lease": l,
		"status": "completed", "result": map[string]any{"echo": "other"}})
	if code != transport.ReportCodeConflict || got["ok"] != false || got["action"] != "ack" {
		t.Fatalf("second result: code %q reply %v", code, got)
	}

	st, err := db.Tasks().Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != actors.StatusCompleted || st.Attempts != 1 || !strings.Contains(string(st.Result), `"echo":{"text":"hi"}`) {
		t.Fatalf("stored task: %s attempts %d result %s", st.Status, st.Attempts, st.Result)
	}
	attempts, err := db.Tasks().Attempts(t.Context(), id)
	if err != nil || len(attempts) != 1 {
		t.Fatalf("attempts %v, %v; want exactly one", attempts, err)
	}
	// Events follow the commits: started, then completed.
	for _, want := range []string{"task.started", "task.completed"} {
		msg, err := events.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		ev, err := transport.DecodeEvent(msg.Data)
		if err != nil || ev.Type != want {
			t.Fatalf("event %s (%v), want %s", msg.Data, err, want)
		}
	}
}

func TestReportRetryThenPermanentFailure(t *testing.T) {
	db, _, a := setupReports(t, "ext_flaky")
	id := newTask("ext_flaky", "").ID
	a.publish(t, id, "ext_flaky", `{}`, 3)

	m := a.fetch(t)
	l := lease(t, m)
	if got, code := a.report(t, transport.ReportStartSubject, map[string]any{"v": 1, "task_id": id, "lease": l}); code != "" {
		t.Fatalf("start: %s %v", code, got)
	}
	got, code := a.report(t, transport.ReportResultSubject, map[string]any{"v": 1, "task_id": id, "lease": l,
		"status": "retry", "error": "upstream busy"})
	if code != "" || got["action"] != "nak" || got["status"] != "queued" || got["delay_ns"].(float64) <= 0 {
		t.Fatalf("retry: code %q reply %v", code, got)
	}
	if err := m.Nak(); err != nil { // at once, not after the delay: the test does not wait
		t.Fatal(err)
	}

	m = a.fetch(t)
	if lease(t, m) != l {
		t.Fatalf("redelivery has lease %d, want %d", lease(t, m), l)
	}
	got, code = a.report(t, transport.ReportStartSubject, map[string]any{"v": 1, "task_id": id, "lease": l})
	if code != "" || got["attempt"] != float64(2) {
		t.Fatalf("second start: code %q reply %v", code, got)
	}
	got, code = a.report(t, transport.ReportResultSubject, map[string]any{"v": 1, "task_id": id, "lease": l,
		"status": "failed", "error": "input is not a repository", "permanent": true})
	if code != "" || got["action"] != "ack" || got["status"] != "failed" {
		t.Fatalf("failed: code %q reply %v", code, got)
	}
	_ = m.Ack()
	st, err := db.Tasks().Get(t.Context(), id)
	if err != nil || st.Status != actors.StatusFailed || st.Attempts != 2 || st.ErrorMessage != "input is not a repository" {
		t.Fatalf("stored task %+v, %v", st, err)
	}

	// A start for a task that is final: conflict, and the agent acks.
	got, code = a.report(t, transport.ReportStartSubject, map[string]any{"v": 1, "task_id": id, "lease": l})
	if code != transport.ReportCodeConflict || got["action"] != "ack" ||
		got["message"] != "task is final or held by another delivery" {
		t.Fatalf("start of a final task: code %q reply %v", code, got)
	}
}

func TestReportBadRequests(t *testing.T) {
	_, _, a := setupReports(t, "ext_bad")
	id := newTask("ext_bad", "").ID
	cases := []struct {
		subject, body, want string
	}{
		{transport.ReportStartSubject, `{"v":1,"task_id":`, "not the expected JSON"},
		{transport.ReportStartSubject, `{"task_id":"` + id + `","lease":1}`, `no "v" field`},
		{transport.ReportStartSubject, `{"v":2,"task_id":"` + id + `","lease":1}`, "unsupported message version 2"},
		{transport.ReportStartSubject, `{"v":1,"task_id":"NOT-A-UUID","lease":1}`, `"NOT-A-UUID"`},
		{transport.ReportStartSubject, `{"v":1,"task_id":"` + id + `"}`, "lease"},
		{transport.ReportResultSubject, `{"v":1,"task_id":"` + id + `","lease":1,"status":"done"}`, `status "done"`},
		{transport.ReportResultSubject, `{"v":1,"task_id":"` + id + `","lease":1,"status":"completed","result":[1]}`, "JSON object"},
		{transport.ReportResultSubject, `{"v":1,"task_id":"` + id + `","lease":1,"status":"failed"}`, "error message"},
		{transport.ReportStartSubject, `{"v":1,"task_id":"` + id + `","lease":999}`, "no task message at lease 999"},
	}
	for _, c := range cases {
		got, code := a.report(t, c.subject, c.body)
		msg, _ := got["message"].(string)
		if code == "" || got["ok"] != false || !strings.Contains(msg, c.want) {
			t.Errorf("%s %s: code %q reply %v; want an error naming %q", c.subject, c.body, code, got, c.want)
		}
	}
}
