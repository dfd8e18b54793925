package runner_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/ymera/ymera/actors"
)

// TestKindMicroService checks that a built-in kind is discoverable as a
// NATS micro service: $SRV.PING and $SRV.INFO answer for it, and INFO names
// each task type with the kind's parameter schema.
func TestKindMicroService(t *testing.T) {
	b := setup(t)
	k := kind("described", func(context.Context, actors.Task) (actors.Result, error) {
		return actors.JSONResult(map[string]any{})
	})
	k.ParamsSchema = json.RawMessage(`{"type":"object","required":["path"]}`)
	b.startNode(t, 10*time.Second, k)

	nc := b.conn.NC()
	reply, err := nc.Request("$SRV.INFO.ymera-agent-described", nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(reply.Data, &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "ymera-agent-described" || len(info.Endpoints) != 1 {
		t.Fatalf("info %+v", info)
	}
	ep := info.Endpoints[0]
	if ep.Name != "described_job" || ep.Subject != "ymera.agent.kind.described.described_job" ||
		ep.Metadata["params_schema"] != `{"type":"object","required":["path"]}` || ep.Metadata["kind"] != "described" {
		t.Fatalf("endpoint %+v", ep)
	}
	if _, err := nc.Request("$SRV.PING.ymera-agent-described", nil, 10*time.Second); err != nil {
		t.Fatalf("ping: %v", err)
	}
	desc, err := nc.Request(ep.Subject, nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		TaskType     string          `json:"task_type"`
		ParamsSchema json.RawMessage `json:"params_schema"`
	}
	if err := json.Unmarshal(desc.Data, &d); err != nil || d.TaskType != "described_job" || len(d.ParamsSchema) == 0 {
		t.Fatalf("describe reply %s, %v", desc.Data, err)
	}
}
