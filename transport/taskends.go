package transport

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ymera/ymera/actors"
)

// taskEndsLinger is how long TaskEnds keeps its subscription after its last
// waiter left. Clients that wait for one task after another would otherwise
// subscribe and unsubscribe (a round trip each) for every task.
const taskEndsLinger = 30 * time.Second

// TaskEnds tells waiters when a task reaches a final status, from the task
// events every node publishes (task.completed, task.failed, ...), so that a
// client can wait for a task's end instead of polling its row. It holds one
// core NATS subscription to every task's events, made for the first waiter
// and dropped taskEndsLinger after the last one left: with nobody waiting,
// the events do not reach this connection at all.
//
// Events are announcements sent after the fact and without acknowledgement;
// one can be lost (a slow consumer, a reconnect). An end signal therefore
// means "read the row again", and a waiter should also re-read now and then
// rather than rely on the signal alone.
//
// While subscribed, it can also track tasks its caller is about to submit
// (Expect), so that a later waiter learns from Tracked that the task's end,
// if it has come, was heard, and need not read the task first to find out.
type TaskEnds struct {
	c      *Conn
	linger time.Duration

	// subMu serializes making and dropping the subscription, which takes a
	// round trip; mu guards the rest and is never held across one.
	subMu sync.Mutex

	mu      sync.Mutex
	sub     *nats.Subscription
	waiters map[string][]chan struct{}
	count   int
	idle    *time.Timer // drops the subscription once count stayed 0

	// expected are the tracked tasks (Expect), in a ring of the most
	// recent expectCap: each entry was made while subscribed, and all are
	// dropped with the subscription.
	expected  map[string]expectation
	ring      []string
	next      int
	expectMax int // the ring's size: expectCap but in tests
}

// expectCap is how many tasks TaskEnds tracks at most: the newest. At 5,000
// tasks a second that is three seconds of them, far more than a client
// takes between submitting a task and asking after it.
const expectCap = 1 << 14

// expectation is a tracked task: its owner, and whether its end was heard.
type expectation struct {
	owner string
	ended bool
}

// NewTaskEnds returns a TaskEnds on c. It subscribes nothing until the
// first Await.
func (c *Conn) NewTaskEnds() *TaskEnds {
	e := &TaskEnds{c: c, linger: taskEndsLinger, waiters: map[string][]chan struct{}{},
		expected: map[string]expectation{}, expectMax: expectCap}
	e.idle = time.AfterFunc(time.Hour, e.dropIfIdle)
	e.idle.Stop()
	return e
}

// Await registers interest in taskID's end. The returned channel receives
// (it is never closed) when an event says the task reached a final status,
// or at once if the task is tracked and its end was heard already; release
// must be called once the caller stops waiting. When Await returns without
// error the subscription is in place on the server: an end announced after
// Await returned is not missed, so a caller that reads the task's row after
// Await and finds it unfinished cannot miss its end in between.
func (e *TaskEnds) Await(ctx context.Context, taskID string) (ended <-chan struct{}, release func(), err error) {
	if err := checkTaskID(taskID); err != nil {
		return nil, nil, err
	}
	ch := make(chan struct{}, 1)
	// Registered before the subscription is ensured, so that an idle timer
	// firing meanwhile sees a waiter and keeps it.
	e.mu.Lock()
	e.waiters[taskID] = append(e.waiters[taskID], ch)
	e.count++
	e.idle.Stop()
	e.mu.Unlock()
	release = func() { e.release(taskID, ch) }
	if err := e.subscribe(ctx); err != nil {
		release()
		return nil, nil, err
	}
	e.mu.Lock()
	if e.expected[taskID].ended {
		select {
		case ch <- struct{}{}:
		default: // deliver has signalled it since it was registered
		}
	}
	e.mu.Unlock()
	return ch, release, nil
}

// Expect tracks a task about to be submitted, for owner, if TaskEnds is
// subscribed now: from then on its end is heard (or lost, as any event can
// be) and remembered. Call it before the task is published, or an end that
// comes first goes unnoticed. While nobody waits, TaskEnds is not
// subscribed and Expect does nothing: it never costs a round trip.
func (e *TaskEnds) Expect(taskID, owner string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sub == nil {
		return
	}
	if _, ok := e.expected[taskID]; ok {
		return
	}
	if e.ring == nil {
		e.ring = make([]string, e.expectMax)
	}
	if old := e.ring[e.next]; old != "" {
		delete(e.expected, old)
	}
	e.ring[e.next] = taskID
	e.next = (e.next + 1) % len(e.ring)
	e.expected[taskID] = expectation{owner: owner}
}

// Forget stops tracking a task, one whose submission failed.
func (e *TaskEnds) Forget(taskID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.expected, taskID) // its ring slot is reused in turn
}

// Tracked reports whether taskID has been tracked since before it was
// published, and for whom. If so, a channel from Await made before
// Tracked was asked has received already if the task's end was heard, so
// a caller holding one can wait on it without reading the task first: it
// misses the end only if the event is lost, and should re-read now and
// then for that.
func (e *TaskEnds) Tracked(taskID string) (owner string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.expected[taskID]
	return x.owner, ok
}

// subscribe makes the subscription if there is none and waits until the
// server has it.
func (e *TaskEnds) subscribe(ctx context.Context) error {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	e.mu.Lock()
	live := e.sub != nil
	e.mu.Unlock()
	if live {
		return nil
	}
	sub, err := e.c.nc.Subscribe(TaskEventsWildcard(), e.deliver)
	if err != nil {
		return wrap("subscribe task events", err)
	}
	if err := e.c.nc.FlushWithContext(ctx); err != nil {
		_ = sub.Unsubscribe()
		return wrap("subscribe task events", err)
	}
	e.mu.Lock()
	e.sub = sub
	e.mu.Unlock()
	return nil
}

// release removes one waiter; the last one out starts the idle timer.
func (e *TaskEnds) release(taskID string, ch chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.waiters[taskID]
	i := slices.Index(ws, ch)
	if i < 0 {
		return // released twice
	}
	if ws = slices.Delete(ws, i, i+1); len(ws) == 0 {
		delete(e.waiters, taskID)
	} else {
		e.waiters[taskID] = ws
	}
	if e.count--; e.count == 0 {
		e.idle.Reset(e.linger)
	}
}

// dropIfIdle unsubscribes when nobody has waited for a whole linger.
func (e *TaskEnds) dropIfIdle() {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	e.mu.Lock()
	sub := e.sub
	if e.count > 0 || sub == nil {
		e.mu.Unlock()
		return
	}
	e.sub = nil
	// What was tracked can no longer be: ends from now on go unheard.
	clear(e.expected)
	e.ring, e.next = nil, 0
	e.mu.Unlock()
	_ = sub.Unsubscribe()
}

// deliver signals the waiters of the event's task, and marks it ended if
// it is tracked, if the event says the task ended. Events of tasks nobody
// waits for or tracks cost a map lookup.
func (e *TaskEnds) deliver(m *nats.Msg) {
	id, ok := strings.CutPrefix(m.Subject, prefixTaskEvents)
	if !ok {
		return
	}
	e.mu.Lock()
	_, waited := e.waiters[id]
	_, tracked := e.expected[id]
	e.mu.Unlock()
	if !waited && !tracked {
		return
	}
	status, err := eventStatus(m.Data)
	if err != nil || !actors.Status(status).Final() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.expected[id]; ok {
		x.ended = true
		e.expected[id] = x
	}
	for _, ch := range e.waiters[id] {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
}
