package transport

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A node runs the first attempt of a task before it records the start
// (runner's deferred start), so the store can no longer be what stops a
// task cancelled while queued from running: the node does not ask it. The
// ymera_cancels bucket tells the nodes instead. The canceller puts the
// task's id there once the store has it cancelled; every node keeps the
// bucket in memory (CancelView) and runs no deferred attempt of a task it
// lists, nor any deferred attempt at all while its view is not current.

// CancelTTL is how long ymera_cancels keeps a task cancelled before it
// started. A task cancelled longer ago whose message is still queued is
// started as any delivery is first, and the store refuses it.
const CancelTTL = 24 * time.Hour

// maxCancelView bounds a CancelView: past it (a mass cancel of queued
// tasks), the view stops answering and nodes record every start first
// until keys expire.
const maxCancelView = 100_000

// MarkCancelled puts taskID in ymera_cancels for CancelTTL.
func (c *Conn) MarkCancelled(ctx context.Context, taskID string) error {
	if err := checkTaskID(taskID); err != nil {
		return err
	}
	kv, err := c.bucket(ctx, BucketCancels)
	if err != nil {
		return wrap("mark task "+taskID+" cancelled", err)
	}
	if _, err := kv.Put(ctx, taskID, nil); err != nil {
		return wrap("mark task "+taskID+" cancelled", err)
	}
	return nil
}

// CancelView is ymera_cancels held in memory and kept current by a watch
// (Run). It is safe for concurrent use.
type CancelView struct {
	c       *Conn
	running atomic.Bool

	mu     sync.RWMutex
	live   bool
	ids    map[string]struct{}
	loaded chan struct{} // closed when the view first goes live
	once   sync.Once
}

// NewCancelView returns a view of c's ymera_cancels; it cannot tell
// anything until Run has loaded it.
func NewCancelView(c *Conn) *CancelView {
	return &CancelView{c: c, ids: make(map[string]struct{}), loaded: make(chan struct{})}
}

// Loaded is closed once Run has first loaded the bucket.
func (v *CancelView) Loaded() <-chan struct{} { return v.loaded }

// Run keeps the view current until ctx ends, then returns nil; while the
// watch is down (the connection dropped, the watch failed) the view cannot
// tell, and Run restarts the watch (see DenylistView.Run). Call it once.
func (v *CancelView) Run(ctx context.Context) error {
	if !v.running.CompareAndSwap(false, true) {
		return errors.New("transport: cancel view: Run called twice")
	}
	return v.c.mirrorBucket(ctx, BucketCancels, "cancel list", "recording every start first", v)
}

// Cancelled reports whether taskID was cancelled before it started, and
// whether the view can tell: known is false while the watch is not current
// or the view holds more than it keeps.
func (v *CancelView) Cancelled(taskID string) (cancelled, known bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.live || len(v.ids) > maxCancelView {
		return false, false
	}
	_, cancelled = v.ids[taskID]
	return cancelled, true
}

func (v *CancelView) reset() {
	v.mu.Lock()
	v.live = false
	clear(v.ids)
	v.mu.Unlock()
}

func (v *CancelView) apply(e jetstream.KeyValueEntry) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.Operation() {
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		delete(v.ids, e.Key())
	default:
		v.ids[e.Key()] = struct{}{}
	}
}

func (v *CancelView) setLive(live bool) {
	v.mu.Lock()
	v.live = live
	v.mu.Unlock()
	if live {
		v.once.Do(func() { close(v.loaded) })
	}
}
