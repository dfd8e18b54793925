package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/ymera/ymera/store"
)

// newServiceKey stores a key acting as owner, issued by creator ("" for none).
func newServiceKey(t *testing.T, s store.Store, owner, creator string) store.ServiceKey {
	t.Helper()
	id := newID()
	sum := sha256.Sum256([]byte("ymk_" + id))
	k := store.ServiceKey{
		ID:        id,
		Name:      "key-" + id[len(id)-8:],
		KeyHash:   hex.EncodeToString(sum[:]),
		OwnerID:   owner,
		CreatedBy: creator,
		CreatedAt: stored(t0),
	}
	ok(t, "create service key", s.ServiceKeys().Create(t.Context(), k))
	return k
}

func testServiceKeys(t *testing.T, s store.Store) {
	keys := s.ServiceKeys()

	// Serial: pages through the whole table, which must not change meanwhile.
	t.Run("ListPages", func(t *testing.T) {
		owner := newUser(t, s)
		mine := []string{newServiceKey(t, s, owner.ID, "").ID, newServiceKey(t, s, owner.ID, "").ID, newServiceKey(t, s, owner.ID, "").ID}
		var all []string
		after := ""
		for range 100 {
			page, err := keys.List(t.Context(), after, 2)
			ok(t, "list", err)
			if page == nil {
				t.Fatal("List returned a nil slice; want empty, so it encodes as []")
			}
			if len(page) > 2 {
				t.Fatalf("page of %d keys with limit 2", len(page))
			}
			if len(page) == 0 {
				break
			}
			all = append(all, ids(page, func(k store.ServiceKey) string { return k.ID })...)
			after = page[len(page)-1].ID
		}
		if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
			t.Errorf("pages are not in strictly increasing id order: %v", all)
		}
		for _, id := range mine {
			if !slices.Contains(all, id) {
				t.Errorf("key %s missing from the pages", id)
			}
		}
		if _, err := keys.List(t.Context(), "not-an-id", 2); err == nil {
			t.Error("List with a cursor that is not an id succeeded")
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		owner, admin := newUser(t, s), newUser(t, s)
		k := newServiceKey(t, s, owner.ID, admin.ID)
		got, err := keys.Get(t.Context(), k.ID)
		ok(t, "get", err)
		equal(t, "Get", got, k)
		got, err = keys.GetByHash(t.Context(), k.KeyHash)
		ok(t, "get by hash", err)
		equal(t, "GetByHash", got, k)

		noCreator := newServiceKey(t, s, owner.ID, "")
		got, err = keys.Get(t.Context(), noCreator.ID)
		ok(t, "get", err)
		equal(t, "Get without creator", got, noCreator)
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		_, err := keys.Get(t.Context(), newID())
		isErr(t, "Get of a missing key", err, store.ErrNotFound)
		_, err = keys.Get(t.Context(), "not-a-uuid")
		isErr(t, "Get of a malformed id", err, store.ErrNotFound)
		_, err = keys.GetByHash(t.Context(), "00")
		isErr(t, "GetByHash of an unknown hash", err, store.ErrNotFound)
		_, err = keys.Revoke(t.Context(), newID(), stored(t0))
		isErr(t, "Revoke of a missing key", err, store.ErrNotFound)
		isErr(t, "Touch of a missing key", keys.Touch(t.Context(), newID(), stored(t0)), store.ErrNotFound)
	})

	t.Run("Conflicts", func(t *testing.T) {
		t.Parallel()
		owner := newUser(t, s)
		k := newServiceKey(t, s, owner.ID, "")
		dupID := k
		dupID.KeyHash = "other-" + k.ID
		isErr(t, "Create with a taken id", keys.Create(t.Context(), dupID), store.ErrConflict)
		dupHash := k
		dupHash.ID = newID()
		isErr(t, "Create with a taken hash", keys.Create(t.Context(), dupHash), store.ErrConflict)
		orphan := k
		orphan.ID, orphan.KeyHash, orphan.OwnerID = newID(), "orphan-"+k.ID, newID()
		isErr(t, "Create for a missing owner", keys.Create(t.Context(), orphan), store.ErrConflict)
	})

	t.Run("RevokeAndTouch", func(t *testing.T) {
		t.Parallel()
		owner := newUser(t, s)
		k := newServiceKey(t, s, owner.ID, "")
		used := t0.Add(time.Minute)
		ok(t, "touch", keys.Touch(t.Context(), k.ID, used))
		first := t0.Add(time.Hour)
		got, err := keys.Revoke(t.Context(), k.ID, first)
		ok(t, "revoke", err)
		equal(t, "revoked_at", got.RevokedAt, storedPtr(&first))
		equal(t, "last_used_at", got.LastUsedAt, storedPtr(&used))
		// A second revocation keeps the first time.
		got, err = keys.Revoke(t.Context(), k.ID, first.Add(time.Hour))
		ok(t, "revoke again", err)
		equal(t, "revoked_at after a second revoke", got.RevokedAt, storedPtr(&first))
		got, err = keys.GetByHash(t.Context(), k.KeyHash)
		ok(t, "get by hash", err)
		equal(t, "revoked key by hash", got.RevokedAt, storedPtr(&first))
	})
}
