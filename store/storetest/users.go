package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ymera/ymera/store"
)

func testUsers(t *testing.T, s store.Store) {
	users := s.Users()

	// Serial: nothing else writes users while it counts.
	t.Run("Count", func(t *testing.T) {
		before, err := users.Count(t.Context())
		ok(t, "count", err)
		newUser(t, s)
		newUser(t, s)
		after, err := users.Count(t.Context())
		ok(t, "count", err)
		if after != before+2 {
			t.Errorf("count went from %d to %d after two creates", before, after)
		}
	})

	// Serial: pages through the whole table, which must not change meanwhile.
	t.Run("ListPages", func(t *testing.T) {
		mine := []string{newUser(t, s).ID, newUser(t, s).ID, newUser(t, s).ID}
		var all []string
		after := ""
		for range 100 {
			page, err := users.List(t.Context(), after, 2)
			ok(t, "list", err)
			if page == nil {
				t.Fatal("List returned a nil slice; want empty, so it encodes as []")
			}
			if len(page) > 2 {
				t.Fatalf("page of %d users with limit 2", len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, u := range page {
				all = append(all, u.ID)
			}
			after = page[len(page)-1].ID
		}
		if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
			t.Errorf("pages are not in strictly increasing id order: %v", all)
		}
		for _, id := range mine {
			if !slices.Contains(all, id) {
				t.Errorf("user %s missing from the pages", id)
			}
		}
		_, err := users.List(t.Context(), "not-an-id", 2)
		if err == nil {
			t.Error("List with a cursor that is not an id succeeded")
		}
	})

	t.Run("CreateGet", func(t *testing.T) {
		t.Parallel()
		id := newID()
		login := t0.Add(time.Hour)
		want := store.User{
			ID:             id,
			Username:       "ada-" + id,
			Email:          "ada-" + id + "@example.com",
			HashedPassword: "$argon2id$hash",
			FirstName:      "Ada",
			LastName:       "Lovelace",
			Role:           store.RoleAdmin,
			IsActive:       true,
			CreatedAt:      t0,
			UpdatedAt:      t0.Add(time.Minute),
			LastLogin:      &login,
		}
		ok(t, "create", users.Create(t.Context(), want))
		want.CreatedAt, want.UpdatedAt, want.LastLogin = stored(want.CreatedAt), stored(want.UpdatedAt), storedPtr(want.LastLogin)

		got, err := users.Get(t.Context(), id)
		ok(t, "get", err)
		equal(t, "Get", got, want)
		got, err = users.GetByUsername(t.Context(), want.Username)
		ok(t, "get by username", err)
		equal(t, "GetByUsername", got, want)
	})

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		id := newID()
		ok(t, "create", users.Create(t.Context(), store.User{
			ID: id, Username: "min-" + id, Email: "min-" + id + "@example.com", HashedPassword: "h",
		}))
		got, err := users.Get(t.Context(), id)
		ok(t, "get", err)
		if got.Role != store.RoleUser {
			t.Errorf("Role = %q, want %q", got.Role, store.RoleUser)
		}
		if got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt %v, UpdatedAt %v: want now, equal, UTC", got.CreatedAt, got.UpdatedAt)
		}
		if got.FirstName != "" || got.LastName != "" || got.LastLogin != nil || got.IsActive {
			t.Errorf("zero fields did not read back as zero: %+v", got)
		}
	})

	t.Run("Conflicts", func(t *testing.T) {
		t.Parallel()
		taken := newUser(t, s)
		for _, tc := range []struct {
			name string
			edit func(u *store.User)
		}{
			{"same id", func(u *store.User) { u.ID = taken.ID }},
			{"same username", func(u *store.User) { u.Username = taken.Username }},
			{"same email", func(u *store.User) { u.Email = taken.Email }},
		} {
			id := newID()
			u := store.User{ID: id, Username: "other-" + id, Email: "other-" + id + "@example.com", HashedPassword: "h"}
			tc.edit(&u)
			isErr(t, tc.name, users.Create(t.Context(), u), store.ErrConflict)
		}
		got, err := users.Get(t.Context(), taken.ID)
		ok(t, "get", err)
		equal(t, "user after conflicting creates", got, taken)
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		_, err := users.Get(t.Context(), newID())
		isErr(t, "Get unknown id", err, store.ErrNotFound)
		_, err = users.Get(t.Context(), "not-a-uuid")
		isErr(t, "Get malformed id", err, store.ErrNotFound)
		_, err = users.GetByUsername(t.Context(), "nobody-"+newID())
		isErr(t, "GetByUsername unknown", err, store.ErrNotFound)
		_, err = users.Update(t.Context(), newID(), store.UserUpdate{Email: ptr("x@example.com")})
		isErr(t, "Update unknown id", err, store.ErrNotFound)
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		u := newUser(t, s)
		login := time.Now()
		got, err := users.Update(t.Context(), u.ID, store.UserUpdate{
			Email:     ptr("new-" + u.Email),
			FirstName: ptr("Grace"),
			Role:      ptr(store.RoleService),
			IsActive:  ptr(false),
			LastLogin: &login,
		})
		ok(t, "update", err)
		if !got.UpdatedAt.After(u.UpdatedAt) {
			t.Errorf("UpdatedAt %v not bumped past %v", got.UpdatedAt, u.UpdatedAt)
		}
		want := u
		want.Email, want.FirstName, want.Role, want.IsActive = "new-"+u.Email, "Grace", store.RoleService, false
		want.LastLogin, want.UpdatedAt = storedPtr(&login), got.UpdatedAt
		equal(t, "Update result", got, want)
		again, err := users.Get(t.Context(), u.ID)
		ok(t, "get", err)
		equal(t, "Get after Update", again, want)

		// Nothing to change still bumps updated_at and returns the record.
		same, err := users.Update(t.Context(), u.ID, store.UserUpdate{})
		ok(t, "empty update", err)
		if same.Email != want.Email || same.UpdatedAt.Before(want.UpdatedAt) {
			t.Errorf("empty update returned %+v", same)
		}

		other := newUser(t, s)
		_, err = users.Update(t.Context(), u.ID, store.UserUpdate{Email: &other.Email})
		isErr(t, "Update to a taken email", err, store.ErrConflict)
	})

	t.Run("TimeRoundTrip", func(t *testing.T) {
		t.Parallel()
		for _, at := range []time.Time{
			time.Date(2025, 1, 2, 3, 4, 5, 999999999, time.UTC),                  // truncated, not rounded
			time.Date(2025, 6, 7, 23, 59, 59, 1000, time.FixedZone("", -7*3600)), // crosses midnight in UTC
			time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2999, 12, 31, 23, 59, 59, 999999000, time.Local),
			time.Now(), // carries a monotonic reading
		} {
			u := newUser(t, s)
			got, err := users.Update(t.Context(), u.ID, store.UserUpdate{LastLogin: &at})
			ok(t, "update", err)
			if got.LastLogin == nil || !got.LastLogin.Equal(stored(at)) || got.LastLogin.Location() != time.UTC {
				t.Errorf("LastLogin %v read back as %v, want %v", at, got.LastLogin, stored(at))
			}
			b, _ := json.Marshal(got.LastLogin)
			w, _ := json.Marshal(stored(at))
			if string(b) != string(w) {
				t.Errorf("LastLogin encodes as %s, want %s", b, w)
			}
		}
	})
}
