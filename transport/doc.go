// Package transport is everything YMERA does with NATS: connecting (to an
// embedded server or an external cluster), declaring streams, consumers and
// key-value buckets, building subjects, encoding messages, publishing tasks
// and events, pulling tasks for agents, and carrying W3C trace context in
// message headers.
//
// # Connecting
//
// Connect with an empty Options.URL starts a nats-server inside the process
// with JetStream stored in Options.DataDir and, unless Options.Listen or a
// ConfigFile asks for one, no TCP listener at all: the process talks to it
// in memory. This is what "ymera serve" runs on a fresh machine. With a URL
// it connects to an external server or cluster and reconnects forever. Setup
// then declares the streams and buckets idempotently, and each agent kind
// declares its consumer with EnsureConsumer. The caller that connects owns
// the Conn and closes it; Close drains, then stops the embedded server.
//
// # Subjects and names
//
// Every name is built in subjects.go; tokens that come from outside (task
// types, kinds, ids) are validated there and never put into a subject
// unchecked. Subjects are lowercase, general to specific, under "ymera.":
//
//	subject                              stream        retention   notes
//	ymera.tasks.<task_type>.<priority>   YMERA_TASKS   work queue  Nats-Msg-Id = task id
//	ymera.events.task.<task_id>          YMERA_EVENTS  limits      24h, 1,000,000 events (SetupOptions); async persist;
//	                                                               stored as ymera.events.task_bucket.<fnv32a(id) % 4096>
//	ymera.events.agent.<agent_id>        YMERA_EVENTS  limits      presence, status
//	ymera.events.project.<project_id>    YMERA_EVENTS  limits      project events
//	ymera.dlq.<task_type>                YMERA_DLQ     limits      kept until replayed
//
//	bucket            key          value
//	ymera_task_types  task type    {"v":1,"kind":...,"registered_at":...}
//	ymera_heartbeats  agent id     Heartbeat; TTL three intervals (30 s)
//	ymera_revoked     jti.<jti>,   {"v":1,"revoked_at":...,"until":...}; per-key TTL
//	                  user.<id>    until the tokens it refuses expire (Conn.Revoke)
//	ymera_ratelimit   <scope>.<window>.<base64url id>  decimal count of one rate-limit
//	                  window, shared by gateway replicas (Conn.AddRate); TTL 2 min
//	ymera_cancels     task id      empty: a task cancelled before it started, which
//	                  no node may run (Conn.MarkCancelled, CancelView); TTL 24 h
//
//	consumer          on           filter
//	agent_<kind>_<priority>  YMERA_TASKS  ymera.tasks.<type>.<priority> for each of the kind's types
//	dead_letter_watcher      YMERA_DEAD_ADVISORIES  max-deliveries advisories of the task consumers
//
// Core subjects: ymera.ring.tasks.<type>.<priority> (YMERA_TASKS republishes
// every stored task there, headers only: the idle pools' doorbell) and
// ymera.control.task.<task_id>.cancel (cancel a running task).
//
// One durable pull consumer per agent kind, shared by every node running
// the kind, so JetStream spreads the kind's tasks over the nodes. On a work
// queue two consumers may not overlap, so a task type belongs to exactly
// one kind; EnsureConsumer and RegisterTaskTypes report ErrConflict
// otherwise.
//
// # Messages
//
// Bodies are JSON objects carrying their major version as "v"
// (ProtocolVersion, currently 1). A task body is the actors.Task JSON with
// "v" added; events and heartbeats are the Event and Heartbeat types. Fields are added
// without a version change and readers ignore fields they do not know; a
// reader refuses an unknown major version with ErrUnsupportedVersion. Any
// NATS client in any language can therefore submit a task by publishing
// such a body on the task subject, with the task id as Nats-Msg-Id.
// Headers carry W3C traceparent and tracestate (HeaderCarrier).
//
// # Delivery
//
// Tasks are delivered at least once. A task id is also its message id
// (except on YMERA's own submit path: WithoutMessageID), so a republish
// inside the duplicate window (2 minutes by default) is dropped by the
// server and reported as PublishResult.Duplicate; effects must still be
// made exactly-once by the store, since the window is finite and a
// delivery can repeat. TaskConsumer.Fetch returns whatever is ready, or
// waits up to FetchWait for the first task and then returns it with
// whatever else is ready, so a lone task is never held back for a batch.
// TaskDelivery.Ack does not wait for confirmation (a lost ack only causes
// one harmless redelivery); AckSync does.
//
// # JetStream facts this package is designed around
//
//   - MaxDeliver is unlimited by default, which makes a poison task loop
//     forever. ConsumerOptions.MaxDeliver defaults to 5.
//   - A work-queue stream keeps a message that ran out of deliveries, where
//     no consumer will ever see it again. The server announces it on
//     MaxDeliveriesAdvisorySubject; Conn.DeadLetter copies it to YMERA_DLQ
//     and deletes it. Advisories are core NATS messages: one sent while no
//     node listens is lost, so a periodic sweep is still needed.
//   - BackOff is not a retry schedule for Nak. It is the ack deadline of
//     each successive delivery that nobody answered; the server forces
//     AckWait to BackOff[0], so a short first value (1 s) would redeliver
//     every task running longer than that. The default is AckWait doubling
//     (30 s, 1 m, 2 m, 4 m). The server also skews NakWithDelay on later
//     deliveries by BackOff[n-1]-BackOff[0]; TaskDelivery.Nak corrects it,
//     so Nak(delay) waits delay whatever the BackOff.
//   - MaxAckPending stops deliveries silently when full, and tasks waiting
//     for a delayed redelivery after Nak count toward it. The default is
//     generous (at least 1024) because Fetch only asks for free slots.
//   - A task that runs longer than its ack deadline is delivered again
//     while still running unless it calls InProgress in time.
//   - The file store acknowledges writes before syncing them to disk, and
//     syncs every 2 minutes by default: a power loss can lose acknowledged
//     messages. Options.SyncAlways (embedded) or sync_interval: always in
//     nats.conf, with replicas 3 in a cluster, is the production profile.
//   - Events are published with core NATS and not acknowledged, to stay off
//     the hot path: an event can be lost, the task record cannot. The store
//     is the record; YMERA_EVENTS feeds watchers. For the same reason an
//     unreplicated YMERA_EVENTS persists asynchronously (persist_mode
//     async): it writes events to its file in batches after storing them,
//     and never fsyncs them one by one, even under sync_interval: always;
//     a crash can lose the last few milliseconds of events.
//   - Keys that expire by TTL leave a delete marker (limit marker TTL), so
//     a heartbeat watcher sees an agent go offline without polling, and a
//     DenylistView forgets a revocation whose tokens have expired.
package transport
