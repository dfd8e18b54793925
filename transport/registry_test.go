package transport

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
)

func TestTaskTypeRegistry(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	if err := c.RegisterTaskTypes(ctx, "security", []string{"security_scan", "vuln_check"}); err != nil {
		t.Fatal(err)
	}
	types, err := c.WatchTaskTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer types.Stop()

	// Loaded before WatchTaskTypes returned.
	if got := types.List(); !slices.Equal(got, []string{"security_scan", "vuln_check"}) {
		t.Fatalf("List() = %v", got)
	}
	if types.Known("write_docs") {
		t.Fatal("unregistered type known")
	}

	// Later registrations arrive through the watcher.
	if err := c.RegisterTaskTypes(ctx, "documentation", []string{"write_docs"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return types.Known("write_docs") })
	if kind, _ := types.Kind("write_docs"); kind != "documentation" {
		t.Fatalf("Kind(write_docs) = %q", kind)
	}

	// Same kind again: fine. Another kind: conflict.
	if err := c.RegisterTaskTypes(ctx, "security", []string{"security_scan"}); err != nil {
		t.Fatalf("re-register: %v", err)
	}
	if err := c.RegisterTaskTypes(ctx, "documentation", []string{"security_scan"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("register a type of another kind: err = %v, want ErrConflict", err)
	}
	if err := c.RegisterTaskTypes(ctx, "security", []string{"bad.type"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("register bad type: err = %v, want ErrInvalid", err)
	}

	// Deleting an entry removes it from the view.
	kv, err := c.JS().KeyValue(ctx, BucketTaskTypes)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "vuln_check"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !types.Known("vuln_check") })

	types.Stop()
	if !types.Known("security_scan") {
		t.Fatal("view lost its values at Stop")
	}
}

func TestWatchTaskTypesEmptyRegistry(t *testing.T) {
	t.Parallel()
	c := setup(t)
	types, err := c.WatchTaskTypes(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer types.Stop()
	if got := types.List(); len(got) != 0 {
		t.Fatalf("List() = %v", got)
	}
}

func TestPutHeartbeat(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := testCtx(t)
	hb := Heartbeat{Kind: "security", Status: actors.Healthy, InFlight: 3}
	if err := c.PutHeartbeat(ctx, "security-7f3a", hb); err != nil {
		t.Fatal(err)
	}
	kv, err := c.JS().KeyValue(ctx, BucketHeartbeats)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "security-7f3a")
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHeartbeat(e.Value())
	if err != nil {
		t.Fatal(err)
	}
	if got.V != ProtocolVersion || got.AgentID != "security-7f3a" || got.Kind != "security" || got.InFlight != 3 || time.Since(got.Time) > time.Minute {
		t.Fatalf("heartbeat %+v", got)
	}
	if err := c.PutHeartbeat(ctx, "bad.id", hb); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad agent id: err = %v", err)
	}
}

// waitFor polls cond until it holds or the test timeout passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
