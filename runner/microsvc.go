package runner

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/micro"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// Every agent, built in or external, is a NATS micro service named
// ymera-agent-<kind> (transport.AgentServiceName), so the standard
// discovery requests find and describe them without any YMERA code:
// $SRV.PING.ymera-agent-<kind> answers once per process running the kind,
// $SRV.INFO lists one endpoint per task type whose metadata carries the
// kind's parameter JSON Schema, and $SRV.STATS counts the describe requests.
// The tasks themselves never go through these endpoints: they come from
// JetStream (docs/protocol.md).

// Metadata keys of a task type's endpoint.
const (
	metaKind         = "kind"
	metaTaskType     = "task_type"
	metaParamsSchema = "params_schema"
)

// agentServiceVersion is the version the built-in kinds' services declare:
// the wire protocol's.
const agentServiceVersion = "1.0.0"

// taskTypeInfo answers a request on a task type's endpoint.
type taskTypeInfo struct {
	V            int             `json:"v"`
	Kind         string          `json:"kind"`
	TaskType     string          `json:"task_type"`
	Description  string          `json:"description,omitempty"`
	ParamsSchema json.RawMessage `json:"params_schema,omitempty"`
}

// startKindService registers kind's micro service on the node's connection;
// it stops with the node.
func (n *Node) startKindService(cfg NodeConfig, kind actors.Kind) error {
	svc, err := startKindService(cfg.Conn, kind)
	if err != nil {
		return err
	}
	n.stops = append(n.stops, func() { _ = svc.Stop() })
	return nil
}

func startKindService(conn *transport.Conn, kind actors.Kind) (micro.Service, error) {
	name, err := transport.AgentServiceName(kind.Name)
	if err != nil {
		return nil, err
	}
	desc := kind.Description
	if desc == "" {
		desc = "YMERA agent kind " + kind.Name
	}
	svc, err := micro.AddService(conn.NC(), micro.Config{
		Name:        name,
		Version:     agentServiceVersion,
		Description: desc,
		QueueGroup:  name,
		Metadata:    map[string]string{metaKind: kind.Name},
	})
	if err != nil {
		return nil, fmt.Errorf("runner: micro service of %s: %w", kind.Name, err)
	}
	for _, tt := range kind.TaskTypes {
		subject, err := transport.AgentTaskTypeSubject(kind.Name, tt)
		if err != nil {
			_ = svc.Stop()
			return nil, err
		}
		meta := map[string]string{metaKind: kind.Name, metaTaskType: tt}
		if len(kind.ParamsSchema) > 0 {
			meta[metaParamsSchema] = string(kind.ParamsSchema)
		}
		info, err := json.Marshal(taskTypeInfo{V: transport.ProtocolVersion, Kind: kind.Name, TaskType: tt,
			Description: kind.Description, ParamsSchema: kind.ParamsSchema})
		if err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("runner: micro service of %s: parameter schema: %w", kind.Name, err)
		}
		handler := micro.HandlerFunc(func(req micro.Request) { _ = req.Respond(info) })
		if err := svc.AddEndpoint(tt, handler, micro.WithEndpointSubject(subject), micro.WithEndpointMetadata(meta)); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("runner: micro service of %s: endpoint %s: %w", kind.Name, tt, err)
		}
	}
	// Discoverable from the moment this returns: the server has the
	// subscriptions.
	if err := conn.NC().Flush(); err != nil {
		_ = svc.Stop()
		return nil, fmt.Errorf("runner: micro service of %s: %w", kind.Name, err)
	}
	return svc, nil
}
