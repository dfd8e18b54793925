package storetest

import (
	"encoding/json"
	"testing"

	"github.com/ymera/ymera/store"
)

func testProjects(t *testing.T, s store.Store) {
	projects := s.Projects()
	projectID := func(p store.Project) string { return p.ID }

	t.Run("CreateGet", func(t *testing.T) {
		t.Parallel()
		owner := newUser(t, s)
		want := store.Project{
			ID:            newID(),
			Name:          "Payments API",
			Description:   "the money path",
			RepositoryURL: "https://git.example.com/pay.git",
			Status:        "archived",
			Config:        json.RawMessage(`{"language": "go", "checks": ["vet", "race"]}`),
			OwnerID:       owner.ID,
			CreatedAt:     t0,
			UpdatedAt:     t0,
		}
		ok(t, "create", projects.Create(t.Context(), want))
		got, err := projects.Get(t.Context(), want.ID)
		ok(t, "get", err)
		want.CreatedAt, want.UpdatedAt = stored(t0), stored(t0)
		want.Config, got.Config = canonJSON(t, want.Config), canonJSON(t, got.Config)
		equal(t, "Get", got, want)

		id := newID()
		ok(t, "create bare", projects.Create(t.Context(), store.Project{ID: id, Name: "bare"}))
		got, err = projects.Get(t.Context(), id)
		ok(t, "get bare", err)
		if got.Status != "active" || got.Config != nil || got.OwnerID != "" || got.RepositoryURL != "" {
			t.Errorf("defaults: %+v", got)
		}

		isErr(t, "same id", projects.Create(t.Context(), store.Project{ID: id, Name: "again"}), store.ErrConflict)
		_, err = projects.Get(t.Context(), newID())
		isErr(t, "Get unknown", err, store.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		owner := newUser(t, s)
		quantum := newProject(t, s, owner.ID, "Quantum Parser")
		classic := newProject(t, s, owner.ID, "Classic parser")
		tools := newProject(t, s, owner.ID, "Build tools 100%_done")
		newProject(t, s, newUser(t, s).ID, "Quantum Parser") // someone else's
		for _, tc := range []struct {
			name string
			f    store.ProjectFilter
			want []string
		}{
			{"owner", store.ProjectFilter{OwnerID: owner.ID}, []string{quantum.ID, classic.ID, tools.ID}},
			{"after", store.ProjectFilter{OwnerID: owner.ID, After: quantum.ID}, []string{classic.ID, tools.ID}},
			{"limit", store.ProjectFilter{OwnerID: owner.ID, Limit: 1}, []string{quantum.ID}},
			{"one word", store.ProjectFilter{OwnerID: owner.ID, Search: "quantum"}, []string{quantum.ID}},
			{"word in both", store.ProjectFilter{OwnerID: owner.ID, Search: "parser"}, []string{quantum.ID, classic.ID}},
			{"every word must match", store.ProjectFilter{OwnerID: owner.ID, Search: "classic parser"}, []string{classic.ID}},
			{"no match", store.ProjectFilter{OwnerID: owner.ID, Search: "nothing"}, []string{}},
			{"wildcards are literal", store.ProjectFilter{OwnerID: owner.ID, Search: "q%r"}, []string{}},
			{"unknown owner", store.ProjectFilter{OwnerID: newID()}, []string{}},
		} {
			got, err := projects.List(t.Context(), tc.f)
			ok(t, tc.name, err)
			if got == nil {
				t.Errorf("%s: nil slice, want empty", tc.name)
			}
			equal(t, tc.name, ids(got, projectID), tc.want)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		p := newProject(t, s, "", "before")
		got, err := projects.Update(t.Context(), p.ID, store.ProjectUpdate{
			Name:          ptr("after"),
			RepositoryURL: ptr("https://example.com/r.git"),
			Status:        ptr("archived"),
			Config:        ptr(json.RawMessage(`{"k": "v"}`)),
		})
		ok(t, "update", err)
		want := p
		want.Name, want.RepositoryURL, want.Status, want.UpdatedAt = "after", "https://example.com/r.git", "archived", got.UpdatedAt
		want.Config, got.Config = canonJSON(t, json.RawMessage(`{"k":"v"}`)), canonJSON(t, got.Config)
		equal(t, "Update result", got, want)
		if !got.UpdatedAt.After(p.UpdatedAt) {
			t.Errorf("UpdatedAt not bumped: %v", got.UpdatedAt)
		}
		got, err = projects.Update(t.Context(), p.ID, store.ProjectUpdate{Config: ptr(json.RawMessage(nil))})
		ok(t, "clear config", err)
		if got.Config != nil || got.Name != "after" {
			t.Errorf("after clearing config: %+v", got)
		}
		_, err = projects.Update(t.Context(), newID(), store.ProjectUpdate{Name: ptr("x")})
		isErr(t, "Update unknown", err, store.ErrNotFound)
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		p := newProject(t, s, "", "doomed")
		ok(t, "delete", projects.Delete(t.Context(), p.ID))
		_, err := projects.Get(t.Context(), p.ID)
		isErr(t, "Get deleted", err, store.ErrNotFound)
		isErr(t, "Delete again", projects.Delete(t.Context(), p.ID), store.ErrNotFound)

		busy := newProject(t, s, "", "has submissions")
		ok(t, "submit", s.Submissions().Create(t.Context(), store.Submission{ID: newID(), ProjectID: busy.ID, Code: "x"}))
		isErr(t, "Delete a project submissions refer to", projects.Delete(t.Context(), busy.ID), store.ErrConflict)
	})
}
