package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

func testAgents(t *testing.T, s store.Store) {
	agents := s.Agents()

	// newAgent stores an agent owned by owner.
	newAgent := func(t *testing.T, owner, status string) store.Agent {
		t.Helper()
		a := store.Agent{
			ID:           newID(),
			Name:         "reviewer",
			Capabilities: []string{"code_review"},
			Config:       json.RawMessage(`{"model":"small"}`),
			Status:       status,
			OwnerID:      owner,
			CreatedAt:    stored(t0),
			UpdatedAt:    stored(t0),
		}
		ok(t, "create agent", agents.Create(t.Context(), a))
		return a
	}

	t.Run("CreateGet", func(t *testing.T) {
		t.Parallel()
		owner := newUser(t, s)
		beat := t0.Add(time.Second)
		want := store.Agent{
			ID:            newID(),
			Name:          "security",
			Description:   "finds vulnerabilities",
			Capabilities:  []string{"security_scan", "dependency_audit"},
			Config:        json.RawMessage(`{"rules": ["owasp"], "depth": 3, "nested": {"b": 1, "a": null}}`),
			Status:        "active",
			LastHeartbeat: &beat,
			OwnerID:       owner.ID,
			CreatedAt:     t0,
			UpdatedAt:     t0,
		}
		ok(t, "create", agents.Create(t.Context(), want))
		got, err := agents.Get(t.Context(), want.ID)
		ok(t, "get", err)
		want.LastHeartbeat, want.CreatedAt, want.UpdatedAt = storedPtr(want.LastHeartbeat), stored(t0), stored(t0)
		want.Config = canonJSON(t, want.Config)
		got.Config = canonJSON(t, got.Config)
		equal(t, "Get", got, want)
	})

	t.Run("EmptyAndNull", func(t *testing.T) {
		t.Parallel()
		id := newID()
		ok(t, "create", agents.Create(t.Context(), store.Agent{ID: id, Name: "bare"}))
		got, err := agents.Get(t.Context(), id)
		ok(t, "get", err)
		if got.Capabilities == nil || len(got.Capabilities) != 0 {
			t.Errorf("nil capabilities read back as %#v, want an empty slice", got.Capabilities)
		}
		if b, _ := json.Marshal(got.Capabilities); string(b) != "[]" {
			t.Errorf("empty capabilities encode as %s, want []", b)
		}
		if got.Config != nil {
			t.Errorf("nil config read back as %q, want nil", got.Config)
		}
		if got.Status != "inactive" || got.OwnerID != "" || got.Description != "" || got.LastHeartbeat != nil {
			t.Errorf("defaults: %+v", got)
		}
	})

	t.Run("Conflicts", func(t *testing.T) {
		t.Parallel()
		a := newAgent(t, "", "active")
		isErr(t, "same id", agents.Create(t.Context(), store.Agent{ID: a.ID, Name: "again"}), store.ErrConflict)
		isErr(t, "unknown owner", agents.Create(t.Context(), store.Agent{ID: newID(), Name: "orphan", OwnerID: newID()}), store.ErrConflict)
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		owner := newUser(t, s)
		a1 := newAgent(t, owner.ID, "active")
		a2 := newAgent(t, owner.ID, "inactive")
		a3 := newAgent(t, owner.ID, "active")
		newAgent(t, newUser(t, s).ID, "active") // someone else's
		agentID := func(a store.Agent) string { return a.ID }
		for _, tc := range []struct {
			name string
			f    store.AgentFilter
			want []string
		}{
			{"owner", store.AgentFilter{OwnerID: owner.ID}, []string{a1.ID, a2.ID, a3.ID}},
			{"owner and status", store.AgentFilter{OwnerID: owner.ID, Status: "active"}, []string{a1.ID, a3.ID}},
			{"limit", store.AgentFilter{OwnerID: owner.ID, Limit: 2}, []string{a1.ID, a2.ID}},
			{"after", store.AgentFilter{OwnerID: owner.ID, After: a1.ID}, []string{a2.ID, a3.ID}},
			{"after the last", store.AgentFilter{OwnerID: owner.ID, After: a3.ID}, []string{}},
			{"unknown owner", store.AgentFilter{OwnerID: newID()}, []string{}},
		} {
			got, err := agents.List(t.Context(), tc.f)
			ok(t, tc.name, err)
			if got == nil {
				t.Errorf("%s: nil slice, want empty", tc.name)
			}
			equal(t, tc.name, ids(got, agentID), tc.want)
		}
		all, err := agents.List(t.Context(), store.AgentFilter{Status: "active"})
		ok(t, "by status", err)
		if !slices.Contains(ids(all, agentID), a3.ID) || slices.Contains(ids(all, agentID), a2.ID) {
			t.Errorf("status filter across owners: %v", ids(all, agentID))
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		a := newAgent(t, "", "inactive")
		beat := time.Now()
		got, err := agents.Update(t.Context(), a.ID, store.AgentUpdate{
			Description:   ptr("now described"),
			Capabilities:  ptr([]string{}),
			Config:        ptr(json.RawMessage(nil)),
			Status:        ptr("active"),
			LastHeartbeat: &beat,
		})
		ok(t, "update", err)
		want := a
		want.Description, want.Capabilities, want.Config, want.Status = "now described", []string{}, nil, "active"
		want.LastHeartbeat, want.UpdatedAt = storedPtr(&beat), got.UpdatedAt
		equal(t, "Update result", got, want)
		if !got.UpdatedAt.After(a.UpdatedAt) {
			t.Errorf("UpdatedAt %v not bumped", got.UpdatedAt)
		}
		again, err := agents.Get(t.Context(), a.ID)
		ok(t, "get", err)
		equal(t, "Get after Update", again, want)

		got, err = agents.Update(t.Context(), a.ID, store.AgentUpdate{Name: ptr("renamed"), Config: ptr(json.RawMessage(`[1,2]`))})
		ok(t, "update", err)
		if got.Name != "renamed" || string(canonJSON(t, got.Config)) != "[1,2]" || got.Status != "active" {
			t.Errorf("second update: %+v", got)
		}
		_, err = agents.Update(t.Context(), newID(), store.AgentUpdate{Name: ptr("x")})
		isErr(t, "Update unknown", err, store.ErrNotFound)
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		a := newAgent(t, "", "active")
		ok(t, "delete", agents.Delete(t.Context(), a.ID))
		_, err := agents.Get(t.Context(), a.ID)
		isErr(t, "Get deleted", err, store.ErrNotFound)
		isErr(t, "Delete again", agents.Delete(t.Context(), a.ID), store.ErrNotFound)
		isErr(t, "Delete malformed", agents.Delete(t.Context(), "nope"), store.ErrNotFound)

		busy := newAgent(t, "", "active")
		newTask(t, s, "", func(tk *actors.Task) { tk.AgentID = busy.ID })
		isErr(t, "Delete an agent tasks refer to", agents.Delete(t.Context(), busy.ID), store.ErrConflict)
	})
}
