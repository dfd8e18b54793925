package transport

import (
	"errors"
	"testing"
)

// TestCancelViewFollows: a view cannot tell before it has loaded; then it
// lists the tasks marked before and after it started, marked through
// another connection, and forgets a key that is deleted.
func TestCancelViewFollows(t *testing.T) {
	owner, other := twoConns(t)
	ctx := testCtx(t)
	before, after := "0198a6f2-0000-7000-8000-000000000001", "0198a6f2-0000-7000-8000-000000000002"
	if err := other.MarkCancelled(ctx, before); err != nil {
		t.Fatal(err)
	}
	v := NewCancelView(owner)
	if _, known := v.Cancelled(before); known {
		t.Fatal("a view that has not loaded claims to know")
	}
	runView(t, v)
	<-v.Loaded()
	if c, known := v.Cancelled(before); !c || !known {
		t.Errorf("task marked before the view started: cancelled %v known %v", c, known)
	}
	if c, known := v.Cancelled(after); c || !known {
		t.Errorf("task not marked: cancelled %v known %v", c, known)
	}
	if err := other.MarkCancelled(ctx, after); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { c, _ := v.Cancelled(after); return c })

	kv, err := owner.bucket(ctx, BucketCancels)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, before); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { c, known := v.Cancelled(before); return !c && known })

	if err := owner.MarkCancelled(ctx, "not a task"); !errors.Is(err, ErrInvalid) {
		t.Errorf("mark a bad id: %v, want ErrInvalid", err)
	}
}
