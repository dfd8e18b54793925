// Package kept runs functions on goroutines it keeps between calls.
//
// A goroutine starts on a small stack and grows it, copying it at each
// doubling, the first time a call goes deep; one started per call pays
// that on every call. YMERA runs a task's delivery and then its settling
// on goroutines of their own (the worker actor's mailbox run, the commit
// and ack beside it), each reaching down into the store, and under load
// that growth was 3-4 % of a node's CPU. Kept goroutines keep their grown
// stacks until the garbage collector shrinks an idle one.
package kept

import "sync"

// Goroutines keeps up to a fixed number of idle goroutines for Go. The zero
// value is not usable; make one with New.
type Goroutines struct {
	idle     chan chan func() // an idle goroutine's inbox, one per idle goroutine
	quit     chan struct{}
	quitOnce sync.Once
}

// New returns a set that keeps at most idle goroutines waiting for work.
func New(idle int) *Goroutines {
	return &Goroutines{idle: make(chan chan func(), max(idle, 1)), quit: make(chan struct{})}
}

// Go runs fn on an idle kept goroutine, or on a new one when none is idle.
// It never blocks for long: at most until an idle goroutine takes fn.
func (g *Goroutines) Go(fn func()) {
	select {
	case inbox := <-g.idle:
		select {
		case inbox <- fn:
			return
		case <-g.quit: // that goroutine is leaving
		}
	default:
	}
	go g.keep(fn)
}

// keep runs fn, then waits for the next function while there is room among
// the idle, until Stop.
func (g *Goroutines) keep(fn func()) {
	inbox := make(chan func())
	for {
		fn()
		select {
		case g.idle <- inbox:
		default:
			return // enough are idle already
		}
		select {
		case fn = <-inbox:
		case <-g.quit:
			return
		}
	}
}

// Stop ends the idle goroutines. Functions given to Go afterwards still
// run, each on a goroutine that ends with it.
func (g *Goroutines) Stop() { g.quitOnce.Do(func() { close(g.quit) }) }
