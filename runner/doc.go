// Package runner is the task runtime that joins the other packages: it turns
// a JetStream delivery into a supervised agent call and a committed result.
//
// For each agent kind a Node registers the kind's task types, makes sure its
// durable consumer exists and starts a supervisor pool whose workers each own
// one agent instance. A worker handles a delivery in four steps:
//
//  1. Start the task in the store under the delivery's lease (its stream
//     sequence). The transition is conditional, so a task that is already
//     final, or held by a live delivery, is acknowledged and skipped. The
//     starts of all workers of a node are committed together by one start
//     writer (group commit, startwriter.go), each with its own verdict.
//  2. Call the agent with a context bounded by the task timeout, telling
//     JetStream the work is in progress while it runs.
//  3. Commit the outcome (completed, failed, timeout) or hand the task back
//     for a retry with exponential backoff. Final outcomes of all workers
//     of a node are committed together by one result writer (group commit,
//     resultwriter.go); each worker still waits for its own item's commit.
//  4. Acknowledge the message only after that commit, then publish the
//     lifecycle event without waiting for it.
//
// A panic in step 2 never reaches step 4: the supervisor naks the delivery and
// restarts the actor, and the redelivery starts again at step 1 under the same
// lease. The Submitter and the Sweeper cover the other side: a task row is
// committed before its message is published, and a row whose message may
// never have been stored is published again. The submission's own publish
// carries no JetStream message id (a duplicate-window entry per task costs
// the server more than the rare copy it would catch); a copy of a message
// that did arrive is dropped by the conditional Start.
// Concurrent submissions are committed, published and marked queued in
// groups by the Submitter's submit writer (submitwriter.go); each caller
// still waits for its own row's commit and its own message's PubAck.
//
// Around that path: each kind takes work from one consumer per priority,
// chosen by a weighted drain (priority.go); a Canceller cancels tasks that
// have not started in the store and running ones through a control subject
// every node listens on (cancel.go); and every node runs a dead-letter
// watcher that moves tasks out of deliveries to YMERA_DLQ, which
// DeadLetters lists and replays (deadletter.go). docs/architecture.md has
// the reasons.
package runner
