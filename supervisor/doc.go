// Package supervisor runs agent workers as protoactor-go actors under
// supervision, and feeds them work with backpressure.
//
// A Pool is one agent kind's set of actors. Each actor owns one Worker, made
// fresh at every (re)start; it handles one Delivery at a time. The pool asks
// its Source for at most as many deliveries as it has idle actors, so no more
// messages are in flight than there are free workers.
//
// A worker that panics is restarted one-for-one, after a truly exponential
// backoff with full jitter, within a restart budget per time window. The
// delivery it was handling is handed back (Nak) with that delay, so the task
// is delivered again rather than lost.
//
// The package imports nothing else of YMERA: it declares the small interfaces
// it consumes (Source, Delivery, Worker).
package supervisor
