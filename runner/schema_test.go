package runner_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// schemaBase is the $id prefix of the files in docs/schemas.
const schemaBase = "https://github.com/ymera/ymera/docs/schemas/"

// schemas compiles every file of docs/schemas (JSON Schema 2020-12, formats
// asserted) and returns them by file name.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob("../docs/schemas/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	out := make(map[string]*jsonschema.Schema, len(files))
	for _, f := range files {
		s, err := c.Compile(schemaBase + filepath.Base(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = s
	}
	return out
}

func validate(t *testing.T, all map[string]*jsonschema.Schema, name string, body []byte) {
	t.Helper()
	s, ok := all[name]
	if !ok {
		t.Fatalf("no schema %s", name)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: body %s: %v", name, body, err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not accept %s:\n%v", name, body, err)
	}
}

// TestSchemasAcceptRealMessages validates messages the code really produces
// (a task body, events captured from YMERA_EVENTS, a heartbeat and a
// task-type registration read back from their KV buckets, report requests
// and the results service's replies) against docs/schemas.
func TestSchemasAcceptRealMessages(t *testing.T) {
	all := schemas(t)
	_, conn, a := setupReports(t, "schema_echo")
	ctx := t.Context()

	task := newTask("schema_echo", `{"text":"hi"}`)
	body, err := transport.EncodeTask(task)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, all, "task.json", body)
	// And they do refuse: a body without "v", with a bad id.
	bad, _ := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(`{"id":"X","task_type":"schema_echo"}`)))
	if all["task.json"].Validate(bad) == nil {
		t.Error("task.json accepts a body without v and with id X")
	}
	if _, err := conn.PublishTask(ctx, task); err != nil {
		t.Fatal(err)
	}

	// The report flow, with the replies of the real service.
	m := a.fetch(t)
	start, _ := json.Marshal(transport.ReportStart{V: 1, TaskID: task.ID, Lease: lease(t, m), AgentID: "schema-agent"})
	validate(t, all, "report-start-request.json", start)
	validate(t, all, "report-start-reply.json", a.raw(t, transport.ReportStartSubject, start))
	res, _ := json.Marshal(transport.ReportResult{V: 1, TaskID: task.ID, Lease: lease(t, m),
		Status: transport.ReportCompleted, Result: json.RawMessage(`{"echo":{"text":"hi"}}`)})
	validate(t, all, "report-result-request.json", res)
	validate(t, all, "report-result-reply.json", a.raw(t, transport.ReportResultSubject, res))
	validate(t, all, "report-error.json", a.raw(t, transport.ReportResultSubject, res)) // again: 409
	failed, _ := json.Marshal(transport.ReportResult{V: 1, TaskID: task.ID, Lease: 1, Status: transport.ReportFailed,
		Error: "boom", Permanent: true})
	validate(t, all, "report-result-request.json", failed)
	_ = m.Ack()

	// Events as stored in YMERA_EVENTS.
	stream, err := conn.JS().Stream(ctx, transport.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := transport.StoredTaskEventSubject(task.ID) // the only task in its bucket here
	waitFor(t, func() bool {
		msg, err := stream.GetLastMsgForSubject(ctx, subject)
		return err == nil && bytes.Contains(msg.Data, []byte("task.completed"))
	})
	msg, _ := stream.GetLastMsgForSubject(ctx, subject)
	validate(t, all, "event.json", msg.Data)
	if err := conn.PublishEvent(ctx, transport.Event{Type: transport.EventAgentOnline, AgentID: "schema-agent", Status: "online"}); err != nil {
		t.Fatal(err)
	}

	// KV values as stored.
	if err := conn.PutHeartbeat(ctx, "schema-agent", transport.Heartbeat{Kind: "schema_echo", Status: actors.Healthy, InFlight: 1}); err != nil {
		t.Fatal(err)
	}
	if err := conn.RegisterTaskTypes(ctx, "schema_echo", []string{"schema_echo"}); err != nil {
		t.Fatal(err)
	}
	for bucket, schema := range map[string]string{transport.BucketHeartbeats: "heartbeat.json", transport.BucketTaskTypes: "task-type.json"} {
		kv, err := conn.JS().KeyValue(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		key := map[string]string{transport.BucketHeartbeats: "schema-agent", transport.BucketTaskTypes: "schema_echo"}[bucket]
		e, err := kv.Get(ctx, key)
		if err != nil {
			t.Fatalf("%s/%s: %v", bucket, key, err)
		}
		validate(t, all, schema, e.Value())
	}
	agentSubject, _ := transport.AgentEventSubject("schema-agent")
	waitFor(t, func() bool {
		_, err := stream.GetLastMsgForSubject(ctx, agentSubject)
		return err == nil
	})
	amsg, _ := stream.GetLastMsgForSubject(ctx, agentSubject)
	validate(t, all, "event.json", amsg.Data)
}

// raw sends a request and returns the reply body as it came.
func (a *extAgent) raw(t *testing.T, subject string, body []byte) []byte {
	t.Helper()
	reply, err := a.nc.Request(subject, body, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return reply.Data
}
