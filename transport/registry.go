package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/ymera/ymera/actors"
)

// initialLoadTimeout bounds WatchTaskTypes' wait for the initial values
// when ctx has no earlier deadline.
const initialLoadTimeout = 10 * time.Second

// taskTypeEntry is the value stored under a task type in ymera_task_types.
type taskTypeEntry struct {
	V            int       `json:"v"`
	Kind         string    `json:"kind"`
	RegisteredAt time.Time `json:"registered_at"`
}

// RegisterTaskTypes records in the task-type registry that kind processes
// types, so that gateways accept tasks of those types. Registering a type
// again for the same kind refreshes it; a type registered by another kind
// fails with ErrConflict, because two kinds cannot share a type on the work
// queue (remove the old entry first when a type changes hands).
func (c *Conn) RegisterTaskTypes(ctx context.Context, kind string, types []string) error {
	if _, err := ConsumerName(kind); err != nil {
		return err
	}
	for _, tt := range types {
		if err := checkTaskType(tt); err != nil {
			return err
		}
	}
	kv, err := c.bucket(ctx, BucketTaskTypes)
	if err != nil {
		return wrap("register task types", err)
	}
	val, err := json.Marshal(taskTypeEntry{V: ProtocolVersion, Kind: kind, RegisteredAt: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("transport: register task types: %w", err)
	}
	for _, tt := range types {
		if err := registerTaskType(ctx, kv, kind, tt, val); err != nil {
			return err
		}
	}
	return nil
}

func registerTaskType(ctx context.Context, kv jetstream.KeyValue, kind, tt string, val []byte) error {
	_, err := kv.Create(ctx, tt, val)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return wrap("register task type "+tt, err)
	}
	cur, err := kv.Get(ctx, tt)
	if err != nil {
		return wrap("register task type "+tt, err)
	}
	var owner taskTypeEntry
	if err := json.Unmarshal(cur.Value(), &owner); err != nil {
		return fmt.Errorf("transport: register task type %s: stored entry: %w: %w", tt, ErrInvalid, err)
	}
	if owner.Kind != kind {
		return fmt.Errorf("transport: register task type %s for kind %s: %w: registered by kind %s", tt, kind, ErrConflict, owner.Kind)
	}
	// Same owner: refresh, unless another writer changed it meanwhile.
	if _, err := kv.Update(ctx, tt, val, cur.Revision()); err != nil {
		return wrap("register task type "+tt, err)
	}
	return nil
}

// TaskTypes is a live view of the task-type registry, kept fresh by a
// watcher. It is safe for concurrent use.
type TaskTypes struct {
	mu    sync.RWMutex
	kinds map[string]string // task type -> kind

	cancel context.CancelFunc
	done   chan struct{}
}

// WatchTaskTypes loads the registry and keeps following it until ctx ends
// or Stop is called. It returns once the values present at the start are
// loaded, so that the first Known already answers for them.
func (c *Conn) WatchTaskTypes(ctx context.Context) (*TaskTypes, error) {
	kv, err := c.bucket(ctx, BucketTaskTypes)
	if err != nil {
		return nil, wrap("watch task types", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	w, err := kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return nil, wrap("watch task types", err)
	}
	t := &TaskTypes{kinds: make(map[string]string), cancel: cancel, done: make(chan struct{})}
	loaded := make(chan struct{})
	go t.follow(w, loaded, c)

	timer := time.NewTimer(initialLoadTimeout)
	defer timer.Stop()
	select {
	case <-loaded:
		return t, nil
	case <-ctx.Done():
		t.Stop()
		return nil, fmt.Errorf("transport: watch task types: %w", ctx.Err())
	case <-timer.C:
		t.Stop()
		return nil, fmt.Errorf("transport: watch task types: %w: initial values not received in %s", ErrUnavailable, initialLoadTimeout)
	case <-t.done:
		return nil, fmt.Errorf("transport: watch task types: %w: watcher ended before the initial values", ErrUnavailable)
	}
}

// follow applies the watcher's updates until its channel closes, which
// happens when the watch context ends. The nil entry marks the end of the
// initial values.
func (t *TaskTypes) follow(w jetstream.KeyWatcher, loaded chan struct{}, c *Conn) {
	defer close(t.done)
	defer func() { _ = w.Stop() }()
	for e := range w.Updates() {
		if e == nil {
			if loaded != nil {
				close(loaded)
				loaded = nil
			}
			continue
		}
		t.apply(e, c)
	}
}

func (t *TaskTypes) apply(e jetstream.KeyValueEntry, c *Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e.Operation() {
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		delete(t.kinds, e.Key())
	default:
		var v taskTypeEntry
		if err := json.Unmarshal(e.Value(), &v); err != nil || !actors.ValidToken(v.Kind) {
			c.logger.Warn("ignoring malformed task type entry", "task_type", e.Key(), "err", err)
			delete(t.kinds, e.Key())
			return
		}
		t.kinds[e.Key()] = v.Kind
	}
}

// Known reports whether some agent kind registered taskType.
func (t *TaskTypes) Known(taskType string) bool {
	_, ok := t.Kind(taskType)
	return ok
}

// Kind returns the agent kind that registered taskType.
func (t *TaskTypes) Kind(taskType string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	k, ok := t.kinds[taskType]
	return k, ok
}

// List returns the registered task types, sorted.
func (t *TaskTypes) List() []string {
	t.mu.RLock()
	types := make([]string, 0, len(t.kinds))
	for tt := range t.kinds {
		types = append(types, tt)
	}
	t.mu.RUnlock()
	slices.Sort(types)
	return types
}

// Stop ends the watch and waits for it. The view keeps its last values.
func (t *TaskTypes) Stop() {
	t.cancel()
	<-t.done
}
