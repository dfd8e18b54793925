package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ymera/ymera/store"
)

// A RecordError reads as the fmt.Errorf it replaces and still says what
// went wrong to errors.Is and errors.As.
func TestRecordErrorReadsAsFormatted(t *testing.T) {
	const id = "0193a7a8-7c1e-7000-8000-000000000001"
	for _, cause := range []error{store.ErrNotFound, store.ErrUnavailable, fmt.Errorf("wrapped: %w", store.ErrConflict)} {
		var err error = &store.RecordError{Op: "get task", ID: id, Err: cause}
		want := fmt.Errorf("store: get task %s: %w", id, cause)
		if err.Error() != want.Error() {
			t.Errorf("Error() = %q, want %q", err.Error(), want.Error())
		}
		for _, target := range []error{store.ErrNotFound, store.ErrConflict, store.ErrUnavailable} {
			if got, want := errors.Is(err, target), errors.Is(cause, target); got != want {
				t.Errorf("errors.Is(%q, %v) = %v, want %v", err, target, got, want)
			}
		}
		var re *store.RecordError
		if !errors.As(fmt.Errorf("outer: %w", err), &re) || re.ID != id {
			t.Errorf("errors.As did not find the RecordError in %q", err)
		}
	}
}
