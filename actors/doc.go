// Package actors defines what an agent is: the contract every agent kind
// implements, the task it receives and the result it returns.
//
// The contract is deliberately as small as http.Handler. An agent only has to
// process a task:
//
//	type Agent interface {
//		Process(ctx context.Context, t Task) (Result, error)
//	}
//
// The lifecycle hooks of the original BaseAgent (initialize, cleanup, health
// check) are optional interfaces found by type assertion, so a simple agent
// stays simple and a stateful one can still open and close its resources.
//
// Each built-in agent lives in a sub-package (actors/security,
// actors/doccheck, ...) and is described by a Kind, which names the task
// types it offers and makes fresh instances for the supervisor's actor pool.
//
// This package imports nothing else of YMERA: the store, the transport and the
// gateway depend on it, never the reverse.
package actors
