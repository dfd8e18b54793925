// Package sdk runs a Go agent outside the platform's processes: on another
// machine, in another service, with nothing but a NATS connection.
//
// A Go agent is a few lines: implement [actors.Agent] (and, when it holds
// resources, [actors.Initializer] and [actors.Cleaner]), describe it as an
// [actors.Kind], and call [Run]:
//
//	nc, _ := nats.Connect(url, nats.UserInfo("agent", password))
//	kind := actors.Kind{Name: "echo", TaskTypes: []string{"echo"}, New: func() actors.Agent { return echo{} }}
//	err := sdk.Run(ctx, nc, kind, sdk.Options{})
//
// Run speaks docs/protocol.md section (b), the same protocol as the Node.js
// agent of examples/js-agent, through package transport's own subject and
// consumer builders (over [transport.Wrap]) rather than copies of them: it
// registers the kind's task types in KV ymera_task_types, declares the
// per-priority consumers agent_<kind>_<priority> and the direct consumers
// direct_<agent_id>_<priority>, heartbeats into KV ymera_heartbeats, and
// is discoverable as the micro service ymera-agent-<kind>. Each of
// Options.Workers goroutines fetches only when it is free, highest
// priority first; it asks the results service (ymera.agent.report.start)
// before running a task, keeps the lease with InProgress while Process
// runs, cancels Process's context on a cancel request
// (ymera.control.task.<id>.cancel), reports the outcome (completed; failed
// and permanent for errors wrapped with [actors.Permanent] and cancelled
// tasks; retry for any other error or a panic), and only then acks or naks
// the message exactly as the reply says. A task interrupted because Run's
// context ended is handed back (nak) instead of reported. Delivery is at
// least once; the results service makes the recorded outcome exactly once.
//
// The built-in agents implement the same actors.Agent contract and run
// either way. A ymera node runs them in the platform's own processes,
// committing starts and outcomes through the store directly: the faster
// in-process path. `ymera agent` runs them through this package, as the
// NATS user "agent" with no database: the reference Go agent. The contract
// is the same; only the transport differs.
//
// Run needs the platform's results service (any gateway process runs it)
// and a NATS user allowed what docs/protocol.md lists; the repository's
// nats.conf has one, "agent". External agents may not subscribe to the
// platform's task doorbell, so an idle worker polls every
// Options.PollInterval. The platform enforces no task timeout on external
// agents: give Process its own.
package sdk
