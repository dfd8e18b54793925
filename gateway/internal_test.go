package gateway

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ymera/ymera/actors"
)

// TestListEnumsMatchActors: the query enums of GET /tasks name exactly the
// statuses and priorities package actors knows.
func TestListEnumsMatchActors(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[listTasksInput]()
	enum := func(field string) []string {
		f, _ := typ.FieldByName(field)
		return strings.Split(f.Tag.Get("enum"), ",")
	}

	statuses := enum("Status")
	for _, s := range statuses {
		if _, err := actors.ParseStatus(s); err != nil {
			t.Errorf("status enum %q: %v", s, err)
		}
	}
	for _, s := range []actors.Status{actors.StatusPending, actors.StatusQueued, actors.StatusRunning, actors.StatusCompleted,
		actors.StatusFailed, actors.StatusCancelled, actors.StatusTimeout, actors.StatusDeadLetter} {
		if !slices.Contains(statuses, string(s)) {
			t.Errorf("status %q missing from the enum", s)
		}
	}

	var priorities []string
	for _, p := range actors.Priorities {
		priorities = append(priorities, string(p))
	}
	for _, field := range []reflect.StructField{mustField(t, typ, "Priority"), mustField(t, reflect.TypeFor[submitTaskRequest](), "Priority")} {
		got := strings.Split(field.Tag.Get("enum"), ",")
		if !sameSet(got, priorities) {
			t.Errorf("priority enum %v, actors has %v", got, priorities)
		}
	}
	if f := mustField(t, typ, "Limit"); f.Tag.Get("default") != "50" || defaultPageSize != 50 {
		t.Errorf("limit default tag %q, defaultPageSize %d", f.Tag.Get("default"), defaultPageSize)
	}
}

func mustField(t *testing.T, typ reflect.Type, name string) reflect.StructField {
	t.Helper()
	f, ok := typ.FieldByName(name)
	if !ok {
		t.Fatalf("%s has no field %s", typ, name)
	}
	return f
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"héllo", 2, "h…"}, // does not split the é
	} {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
