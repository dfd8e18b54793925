package storetest

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

func testTasks(t *testing.T, s store.Store) {
	tasks := s.Tasks()

	t.Run("CreateGet", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		in := actors.Task{
			ID:          newID(),
			Name:        "Review main.go",
			Description: "look for bugs",
			Type:        "code_review",
			Parameters:  json.RawMessage(`{"path": "main.go", "lines": [1, 2]}`),
			Priority:    actors.PriorityHigh,
			UserID:      user.ID,
			MaxAttempts: 5,
			CreatedAt:   t0,
			Attempt:     9, // set by the runtime, never stored
		}
		ok(t, "create", tasks.Create(t.Context(), in))
		got, err := tasks.Get(t.Context(), in.ID)
		ok(t, "get", err)
		want := store.Task{Task: in, Status: actors.StatusPending, UpdatedAt: stored(t0)}
		want.CreatedAt, want.Attempt = stored(t0), 0
		want.Parameters = canonJSON(t, want.Parameters)
		got.Parameters = canonJSON(t, got.Parameters)
		equal(t, "Get", got, want)
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		id := newID()
		ok(t, "create", tasks.Create(t.Context(), actors.Task{ID: id, Name: "n", Type: "t"}))
		got, err := tasks.Get(t.Context(), id)
		ok(t, "get", err)
		if got.Priority != actors.PriorityNormal || got.Status != actors.StatusPending {
			t.Errorf("priority %q, status %q; want normal, pending", got.Priority, got.Status)
		}
		if got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Errorf("CreatedAt %v, UpdatedAt %v; want now, equal", got.CreatedAt, got.UpdatedAt)
		}
		if got.Parameters != nil || got.Result != nil || got.UserID != "" || got.AgentID != "" ||
			got.StartedAt != nil || got.CompletedAt != nil || got.Attempts != 0 || got.Lease != 0 {
			t.Errorf("zero fields did not read back as zero: %+v", got)
		}
	})

	t.Run("CreateTwice", func(t *testing.T) {
		t.Parallel()
		// A task published twice (a retried POST, a replayed message) is
		// one task: the second create conflicts and changes nothing.
		task := newTask(t, s, "")
		again := task
		again.Name = "changed"
		isErr(t, "second create", tasks.Create(t.Context(), again), store.ErrConflict)
		got, err := tasks.Get(t.Context(), task.ID)
		ok(t, "get", err)
		if got.Name != task.Name {
			t.Errorf("second create changed the name to %q", got.Name)
		}
	})

	t.Run("CreateUnknownUser", func(t *testing.T) {
		t.Parallel()
		err := tasks.Create(t.Context(), actors.Task{ID: newID(), Name: "n", Type: "t", UserID: newID()})
		isErr(t, "create for an unknown user", err, store.ErrConflict)
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		_, err := tasks.Get(t.Context(), newID())
		isErr(t, "Get unknown", err, store.ErrNotFound)
		_, err = tasks.Get(t.Context(), "not-a-uuid")
		isErr(t, "Get malformed", err, store.ErrNotFound)
	})

	t.Run("JSONRoundTrip", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			in   json.RawMessage
		}{
			{"nil is NULL", nil},
			{"empty object", json.RawMessage(`{}`)},
			{"nested", json.RawMessage(`{"a": {"b": [1, {"c": null}]}, "d": true}`)},
			{"array", json.RawMessage(`[1, "two", 3.5]`)},
			{"unicode", json.RawMessage(`{"text": "héllo \u00e9 世界 🚀", "esc": "a\"b\\c\n"}`)},
			{"big integer", json.RawMessage(`{"n": 12345678901234567890}`)},
			{"key order and space", json.RawMessage(`{ "z" : 1 , "a" : 2 }`)},
		} {
			task := newTask(t, s, "", func(tk *actors.Task) { tk.Parameters = tc.in })
			got, err := tasks.Get(t.Context(), task.ID)
			ok(t, tc.name, err)
			if tc.in == nil {
				if got.Parameters != nil {
					t.Errorf("%s: read back %q, want nil", tc.name, got.Parameters)
				}
				continue
			}
			equal(t, tc.name, string(canonJSON(t, got.Parameters)), string(canonJSON(t, tc.in)))
		}
	})

	t.Run("ListFilters", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		review := newTask(t, s, user.ID)
		scan := newTask(t, s, user.ID, func(tk *actors.Task) { tk.Type = "security_scan"; tk.Priority = actors.PriorityCritical })
		queued := newTask(t, s, user.ID, func(tk *actors.Task) { tk.Priority = actors.PriorityLow })
		ok(t, "mark queued", tasks.MarkQueued(t.Context(), queued.ID))
		running := newTask(t, s, user.ID, func(tk *actors.Task) { tk.Type = "security_scan" })
		_, err := tasks.Start(t.Context(), running.ID, 1, time.Now())
		ok(t, "start", err)
		newTask(t, s, newUser(t, s).ID) // someone else's

		for _, tc := range []struct {
			name string
			f    store.TaskFilter
			want []string // newest first
		}{
			{"user", store.TaskFilter{UserID: user.ID}, []string{running.ID, queued.ID, scan.ID, review.ID}},
			{"user and status", store.TaskFilter{UserID: user.ID, Status: actors.StatusPending}, []string{scan.ID, review.ID}},
			{"user and type", store.TaskFilter{UserID: user.ID, TaskType: "security_scan"}, []string{running.ID, scan.ID}},
			{"user and priority", store.TaskFilter{UserID: user.ID, Priority: actors.PriorityLow}, []string{queued.ID}},
			{"all four", store.TaskFilter{UserID: user.ID, Status: actors.StatusRunning, TaskType: "security_scan", Priority: actors.PriorityNormal}, []string{running.ID}},
			{"none match", store.TaskFilter{UserID: user.ID, Status: actors.StatusCompleted}, []string{}},
			{"unknown user", store.TaskFilter{UserID: newID()}, []string{}},
		} {
			got, err := tasks.List(t.Context(), tc.f)
			ok(t, tc.name, err)
			if got == nil {
				t.Errorf("%s: nil slice, want empty", tc.name)
			}
			equal(t, tc.name, ids(got, taskID), tc.want)
		}
	})

	t.Run("ListPages", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		var want []string
		for range 7 {
			want = append([]string{newTask(t, s, user.ID).ID}, want...) // newest first
		}
		var got []string
		before := ""
		for _, size := range []int{3, 3, 1, 0} {
			page, err := tasks.List(t.Context(), store.TaskFilter{UserID: user.ID, Before: before, Limit: 3})
			ok(t, "list", err)
			if len(page) != size {
				t.Fatalf("page after %q has %d tasks, want %d", before, len(page), size)
			}
			if size > 0 {
				got = append(got, ids(page, taskID)...)
				before = page[len(page)-1].ID
			}
		}
		equal(t, "pages", got, want)

		_, err := tasks.List(t.Context(), store.TaskFilter{Before: "not-an-id"})
		if err == nil {
			t.Error("List with a cursor that is not an id succeeded")
		}
	})

	// A user's tasks of every status, interleaved, page after page: a
	// backend that reads such pages status by status (store.TaskPageSQL)
	// must merge them back into one order and leave none out.
	t.Run("ListPagesEveryStatus", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		var want, scans []string // newest first
		for round := range 2 {
			// Written out, not actors.Statuses(): a status missing there
			// must show here as tasks missing from the pages.
			for i, st := range []actors.Status{actors.StatusPending, actors.StatusQueued, actors.StatusRunning,
				actors.StatusCompleted, actors.StatusFailed, actors.StatusCancelled, actors.StatusTimeout,
				actors.StatusDeadLetter} {
				task := freshTask("every status", i, user.ID)
				if round == 1 {
					task.Type = "security_scan"
					scans = append([]string{task.ID}, scans...)
				}
				want = append([]string{task.ID}, want...)
				storeIn(t, s, task, st)
			}
		}
		newTask(t, s, newUser(t, s).ID) // someone else's
		for _, tc := range []struct {
			name string
			f    store.TaskFilter
			want []string
		}{
			{"user", store.TaskFilter{UserID: user.ID}, want},
			{"user and type", store.TaskFilter{UserID: user.ID, TaskType: "security_scan"}, scans},
		} {
			var got []string
			f := tc.f
			f.Limit = 3
			for range len(tc.want) {
				page, err := tasks.List(t.Context(), f)
				ok(t, tc.name, err)
				if len(page) == 0 {
					break
				}
				got = append(got, ids(page, taskID)...)
				f.Before = page[len(page)-1].ID
			}
			equal(t, tc.name+", page by page", got, tc.want)
			whole, err := tasks.List(t.Context(), store.TaskFilter{UserID: tc.f.UserID, TaskType: tc.f.TaskType})
			ok(t, tc.name, err)
			equal(t, tc.name+", one page", ids(whole, taskID), tc.want)
		}
	})

	t.Run("ListLimits", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		for range store.DefaultLimit + 1 {
			newTask(t, s, user.ID)
		}
		for _, tc := range []struct {
			limit, want int
		}{
			{0, store.DefaultLimit},
			{-1, store.DefaultLimit},
			{10, 10},
			{store.MaxLimit * 10, store.DefaultLimit + 1},
		} {
			got, err := tasks.List(t.Context(), store.TaskFilter{UserID: user.ID, Limit: tc.limit})
			ok(t, "list", err)
			if len(got) != tc.want {
				t.Errorf("Limit %d: %d tasks, want %d", tc.limit, len(got), tc.want)
			}
		}
	})
}

// storeIn stores task, which has no row yet, in status st.
func storeIn(t *testing.T, s store.Store, task actors.Task, st actors.Status) {
	t.Helper()
	tasks := s.Tasks()
	if st.Final() {
		o := store.Outcome{Status: st, StartedAt: atSec(1)}
		if st != actors.StatusCompleted {
			o.ErrorMessage = "ended " + string(st)
		}
		errs, err := tasks.CreateFinished(t.Context(), []store.NewFinish{{Task: task, Lease: 1, Outcome: o, At: atSec(2)}})
		ok(t, "create finished", err)
		ok(t, "create finished "+task.ID, errs[0])
		return
	}
	ok(t, "create task", tasks.Create(t.Context(), task))
	switch st {
	case actors.StatusQueued:
		ok(t, "mark queued", tasks.MarkQueued(t.Context(), task.ID))
	case actors.StatusRunning:
		_, err := tasks.Start(t.Context(), task.ID, 1, atSec(1))
		ok(t, "start", err)
	}
	got, err := tasks.Get(t.Context(), task.ID)
	ok(t, "read back", err)
	equal(t, "status of "+task.ID, got.Status, st)
}

// StatusCheck fails t unless the quoted values in def, the definition of
// the check on tasks.status, are the statuses of actors.Statuses(). A page
// of one user's tasks is read status by status (store.TaskPageSQL), so a
// status the column admits and the list lacks would drop tasks from it.
func StatusCheck(t *testing.T, def string) {
	t.Helper()
	var got []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(def, -1) {
		got = append(got, m[1])
	}
	var want []string
	for _, st := range actors.Statuses() {
		want = append(want, string(st))
	}
	slices.Sort(got)
	slices.Sort(want)
	equal(t, "statuses the check on tasks.status admits ("+def+")", got, want)
}
