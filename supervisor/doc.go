// Package supervisor runs agent workers as protoactor-go actors under
// supervision, and feeds them work with backpressure.
//
// A Supervisor owns one actor system; cmd makes it with New and ends it with
// Shutdown. StartPool starts a Pool: one agent kind's actors. Each actor owns
// one Worker, made fresh by NewWorker at every (re)start, and handles one
// Delivery at a time.
//
// # Shape
//
// A pool is a pool actor at the root of the actor system, whose children are
// the Size worker actors, plus one dispatcher goroutine owned by the Pool.
// The pool actor exists to supervise: its Props carry the restart strategy,
// and stopping it stops every worker and reports when the last one is gone.
//
// The dispatcher holds the list of idle actors. It calls Source.Fetch only
// when at least one actor is idle, never for more deliveries than there are
// idle actors, and Sends each delivery to one of them (actor-to-actor Send,
// never RequestFuture: that is ~15x slower). An actor offers itself back
// when Start succeeds and each time Handle returns. So no more deliveries are
// unsettled than there are actors, and JetStream keeps the rest (for other
// nodes, or until an actor is free).
//
// # Failures
//
// A worker fails when Handle panics or Start returns an error. The actor is
// restarted alone (one-for-one) after a truly exponential backoff:
// min(Max, Initial*Multiplier^(n-1)), n being its failures within the window,
// drawn uniformly from [d/2, d] (see Jitter for why not [0, d]). The delivery
// it was handling is naked with that same delay, exactly once, so the task
// comes back no sooner than the actor does and JetStream counts the attempt
// (its MaxDeliver ends a poison message's cycle). The Nak is made by the
// strategy, from the failed message protoactor hands it, not by the actor:
// protoactor does not redeliver the message, and reports each failure once.
// A worker that acked before panicking gets a harmless second settlement
// attempt, which JetStream rejects; deliveries are passed to workers
// unwrapped, so that workers can reach methods of the transport's type.
//
// An actor that fails more than MaxRestarts times within Window is stopped,
// and a fresh actor replaces it after Backoff.Max: the pool is Degraded
// meanwhile (Pool.Stats), and its capacity comes back on its own.
//
// # Stopping
//
// Pool.Stop stops fetching at once, naks (delay 0) what was fetched but not
// handed out, waits until ctx ends for the running Handle calls, then stops
// every actor, which calls Worker.Stop. Cancelling the context given to
// StartPool does not stop the pool: cmd passes its signal context there, and
// SIGTERM must lead to a drain, not to cut-off work. The context given to
// Handle ends only when Stop gives up waiting.
//
// protoactor-go's own logging goes to the Supervisor's logger at Error level
// and above only (WithActorLogLevel changes that): it logs every failure and
// dead letter at Info, which the pools already report with more context.
//
// The package imports nothing else of YMERA: it declares the small interfaces
// it consumes (Source, Delivery, Worker).
package supervisor
