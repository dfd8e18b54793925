// Package breaker is the circuit breaker the runtime puts around what agents
// call: other agents now, LLM providers later.
//
// A Breaker counts consecutive failures of one target. At Threshold (5 by
// default, AGENT_CIRCUIT_BREAKER_THRESHOLD) it opens: every call fails at
// once with ErrCircuitOpen, without reaching the target, so a broken
// dependency costs its callers nothing but an error and gets time to recover.
// After Timeout (60 s, AGENT_CIRCUIT_BREAKER_TIMEOUT) it is half-open: one
// probe call at a time goes through; success closes the breaker, failure
// opens it for another Timeout. Calls that find a probe already running fail
// fast too.
//
// A Set holds one breaker per target, made on first use, and reports each
// state change to a Listener (the Prometheus Metrics here) and the open
// ones to /health. The clock is injected, so the state machine is tested
// without sleeping.
package breaker
