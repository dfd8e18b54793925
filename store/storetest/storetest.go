// Package storetest is the contract of store.Store as a test suite. Each
// backend runs it against itself:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openMigrated(t) })
//	}
//
// The suite is the executable form of the comments in package store: what
// each method returns, which sentinel each failure wraps, that transitions
// are conditional and race-safe, that JSON and times survive a round trip,
// and that every list pages correctly. A backend that passes it can replace
// the other.
//
// All subtests share one database. Each makes its own users, projects and
// tasks (ids are fresh UUIDv7s, names derive from them), so most run in
// parallel; the few that assert on the whole table (counts, the pending
// sweep, pruning) run serially, before their group's parallel subtests.
package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// Run runs the contract suite against the store open returns. open is called
// once; the store it returns must be migrated and empty, and is closed by
// open's own cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	groups := []struct {
		name string
		run  func(*testing.T, store.Store)
	}{
		{"Store", testStore},
		{"Users", testUsers},
		{"Agents", testAgents},
		{"Tasks", testTasks},
		{"Transitions", testTransitions},
		{"FinishBatch", testFinishBatch},
		{"DeferredStart", testDeferredStart},
		{"StartBatch", testStartBatch},
		{"CreateBatch", testCreateBatch},
		{"CreateStarted", testCreateStarted},
		{"CreateFinished", testCreateFinished},
		{"EnqueueBatch", testEnqueueBatch},
		{"TaskControl", testTaskControl},
		{"Projects", testProjects},
		{"Submissions", testSubmissions},
		{"Files", testFiles},
		{"ServiceKeys", testServiceKeys},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, s) })
	}
}

func testStore(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if b := s.Backend(); b != "postgres" && b != "sqlite" {
		t.Errorf("Backend() = %q, want postgres or sqlite", b)
	}
}

// t0 is the base of the fixtures' timestamps: after every date the serial
// tests plant in the past, with nanoseconds and a zone to be normalised.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

// stored is what the store returns for t: the same instant in UTC, to the
// microsecond (PostgreSQL's precision, which SQLite matches).
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// atSec is sec seconds after t0, as the store keeps it.
func atSec(sec int) time.Time { return stored(t0).Add(time.Duration(sec) * time.Second) }

// storedPtr is stored for an optional time.
func storedPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	s := stored(*t)
	return &s
}

func ptr[T any](v T) *T { return &v }

// newID returns a fresh id, as the application makes them.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// canonJSON re-encodes raw JSON so that two encodings of the same value
// compare equal (PostgreSQL's JSONB reorders keys and drops whitespace).
// Numbers keep their text, so big integers are compared exactly.
func canonJSON(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	if raw == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stored JSON %q does not decode: %v", raw, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode JSON: %v", err)
	}
	return out
}

// equal fails t unless got and want are deeply equal, showing both as JSON
// (which prints through pointers and formats times).
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// isErr fails t unless err wraps target.
func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// ok stops t on an unexpected error.
func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// newUser stores a user of its own.
func newUser(t *testing.T, s store.Store) store.User {
	t.Helper()
	id := newID()
	u := store.User{
		ID:             id,
		Username:       "user-" + id,
		Email:          "user-" + id + "@example.com",
		HashedPassword: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA",
		Role:           store.RoleUser,
		IsActive:       true,
		CreatedAt:      stored(t0),
		UpdatedAt:      stored(t0),
	}
	ok(t, "create user", s.Users().Create(t.Context(), u))
	return u
}

// newProject stores a project owned by owner.
func newProject(t *testing.T, s store.Store, owner, name string) store.Project {
	t.Helper()
	p := store.Project{
		ID:        newID(),
		Name:      name,
		Status:    "active",
		OwnerID:   owner,
		CreatedAt: stored(t0),
		UpdatedAt: stored(t0),
	}
	ok(t, "create project", s.Projects().Create(t.Context(), p))
	return p
}

// newTask stores a pending task for user, after applying edits to it.
func newTask(t *testing.T, s store.Store, user string, edits ...func(*actors.Task)) actors.Task {
	t.Helper()
	task := actors.Task{
		ID:         newID(),
		Name:       "task",
		Type:       "code_review",
		Parameters: json.RawMessage(`{"file":"main.go"}`),
		Priority:   actors.PriorityNormal,
		UserID:     user,
		CreatedAt:  stored(t0),
	}
	for _, edit := range edits {
		edit(&task)
	}
	ok(t, "create task", s.Tasks().Create(t.Context(), task))
	return task
}

// ids returns the ids of records, in order.
func ids[T any](list []T, id func(T) string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		out = append(out, id(v))
	}
	return out
}

func taskID(t store.Task) string { return t.ID }
