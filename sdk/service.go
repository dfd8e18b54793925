package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/micro"

	"github.com/ymera/ymera/transport"
)

// taskTypeInfo answers a request to one endpoint of the kind's micro
// service, as the built-in kinds answer (runner/microsvc.go).
type taskTypeInfo struct {
	V            int             `json:"v"`
	Kind         string          `json:"kind"`
	TaskType     string          `json:"task_type"`
	Description  string          `json:"description,omitempty"`
	ParamsSchema json.RawMessage `json:"params_schema,omitempty"`
}

// startService makes the agent discoverable: $SRV.PING/INFO/STATS of
// ymera-agent-<kind>, one endpoint per task type on
// ymera.agent.kind.<kind>.<task_type>.
func (a *agent) startService() (micro.Service, error) {
	name, err := transport.AgentServiceName(a.kind.Name)
	if err != nil {
		return nil, err
	}
	desc := a.kind.Description
	if desc == "" {
		desc = "YMERA agent kind " + a.kind.Name
	}
	svc, err := micro.AddService(a.nc, micro.Config{
		Name: name, Version: "1.0.0", Description: desc, QueueGroup: name,
		Metadata: map[string]string{"kind": a.kind.Name},
	})
	if err != nil {
		return nil, fmt.Errorf("micro service %s: %w", name, err)
	}
	for _, tt := range a.kind.TaskTypes {
		subject, err := transport.AgentTaskTypeSubject(a.kind.Name, tt)
		if err != nil {
			_ = svc.Stop()
			return nil, err
		}
		meta := map[string]string{"kind": a.kind.Name, "task_type": tt}
		if len(a.kind.ParamsSchema) > 0 {
			meta["params_schema"] = string(a.kind.ParamsSchema)
		}
		info, err := json.Marshal(taskTypeInfo{V: transport.ProtocolVersion, Kind: a.kind.Name, TaskType: tt,
			Description: a.kind.Description, ParamsSchema: a.kind.ParamsSchema})
		if err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("micro service %s: parameter schema: %w", name, err)
		}
		handler := micro.HandlerFunc(func(req micro.Request) { _ = req.Respond(info) })
		if err := svc.AddEndpoint(tt, handler, micro.WithEndpointSubject(subject), micro.WithEndpointMetadata(meta)); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("micro service %s: endpoint %s: %w", name, tt, err)
		}
	}
	// Discoverable from the moment this returns: the server has the
	// subscriptions.
	if err := a.nc.Flush(); err != nil {
		_ = svc.Stop()
		return nil, fmt.Errorf("micro service %s: %w", name, err)
	}
	return svc, nil
}
