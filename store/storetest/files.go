package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ymera/ymera/store"
)

func testFiles(t *testing.T, s store.Store) {
	files := s.Files()
	fileID := func(f store.File) string { return f.ID }

	// version returns version n of file, created at, ready to store.
	version := func(file string, n int, at time.Time) store.FileVersion {
		return store.FileVersion{
			ID:         newID(),
			FileID:     file,
			Version:    n,
			Size:       int64(100 * n),
			Checksum:   fmt.Sprintf("%064x", n),
			StorageKey: fmt.Sprintf("files/%s/%d", file, n),
			CreatedAt:  at,
		}
	}
	// newFile stores a file in project at path with its first version.
	newFile := func(t *testing.T, project, path string, at time.Time) (store.File, store.FileVersion) {
		t.Helper()
		f := store.File{ID: newID(), ProjectID: project, Path: path, ContentType: "text/x-go", CreatedAt: at, UpdatedAt: at}
		v := version(f.ID, 1, at)
		ok(t, "create file", files.Create(t.Context(), f, v))
		return f, v
	}

	// Serial: pruning deletes across every file of the table.
	t.Run("PruneVersions", func(t *testing.T) {
		day := func(d int) time.Time { return time.Date(2001, 1, d, 0, 0, 0, 0, time.UTC) }
		f, v1 := newFile(t, "", "prune/a.go", day(1))
		v2, v3 := version(f.ID, 2, day(2)), version(f.ID, 3, day(3))
		ok(t, "v2", files.AddVersion(t.Context(), v2))
		ok(t, "v3", files.AddVersion(t.Context(), v3))
		lone, lone1 := newFile(t, "", "prune/b.go", day(1)) // old, but current

		pruned, err := files.PruneVersions(t.Context(), day(2).Add(time.Hour))
		ok(t, "prune", err)
		slices.SortFunc(pruned, func(a, b store.FileVersion) int { return a.Version - b.Version })
		equal(t, "pruned", pruned, []store.FileVersion{v1, v2})
		left, err := files.Versions(t.Context(), f.ID)
		ok(t, "versions", err)
		equal(t, "left", left, []store.FileVersion{v3})
		_, err = files.Version(t.Context(), f.ID, 1)
		isErr(t, "pruned version", err, store.ErrNotFound)
		left, err = files.Versions(t.Context(), lone.ID)
		ok(t, "versions", err)
		equal(t, "current version kept", left, []store.FileVersion{lone1})

		pruned, err = files.PruneVersions(t.Context(), day(2).Add(time.Hour))
		ok(t, "prune again", err)
		equal(t, "second prune", pruned, []store.FileVersion{})
	})

	t.Run("CreateGet", func(t *testing.T) {
		t.Parallel()
		owner := newUser(t, s)
		p := newProject(t, s, owner.ID, "files")
		f := store.File{ID: newID(), ProjectID: p.ID, OwnerID: owner.ID, Path: "cmd/main.go", ContentType: "text/x-go", CreatedAt: t0, UpdatedAt: t0}
		v := version(f.ID, 0, t0) // 0: the store numbers the first version
		v.CreatedBy = owner.ID
		ok(t, "create", files.Create(t.Context(), f, v))

		got, err := files.Get(t.Context(), f.ID)
		ok(t, "get", err)
		want := f
		want.CurrentVersion, want.Size, want.Checksum = 1, v.Size, v.Checksum
		want.CreatedAt, want.UpdatedAt = stored(t0), stored(t0)
		equal(t, "Get", got, want)

		wantV := v
		wantV.Version, wantV.CreatedAt = 1, stored(t0)
		gotV, err := files.Version(t.Context(), f.ID, 1)
		ok(t, "version", err)
		equal(t, "Version", gotV, wantV)
		all, err := files.Versions(t.Context(), f.ID)
		ok(t, "versions", err)
		equal(t, "Versions", all, []store.FileVersion{wantV})

		id := newID()
		ok(t, "create bare", files.Create(t.Context(), store.File{ID: id, Path: "x"}, store.FileVersion{ID: newID(), StorageKey: "k"}))
		bare, err := files.Get(t.Context(), id)
		ok(t, "get bare", err)
		if bare.ContentType != "application/octet-stream" || bare.CreatedAt.IsZero() || bare.ProjectID != "" || bare.DeletedAt != nil {
			t.Errorf("defaults: %+v", bare)
		}

		if err := files.Create(t.Context(), store.File{ID: newID(), Path: "y"}, store.FileVersion{ID: newID(), Version: 2, StorageKey: "k"}); err == nil {
			t.Error("Create with a first version of 2 succeeded")
		}
		isErr(t, "same id", files.Create(t.Context(), store.File{ID: id, Path: "z"}, store.FileVersion{ID: newID(), StorageKey: "k"}), store.ErrConflict)
		_, err = files.Get(t.Context(), newID())
		isErr(t, "Get unknown", err, store.ErrNotFound)
		_, err = files.Versions(t.Context(), newID())
		isErr(t, "Versions unknown", err, store.ErrNotFound)
		_, err = files.Version(t.Context(), f.ID, 9)
		isErr(t, "Version unknown", err, store.ErrNotFound)
	})

	t.Run("AddVersion", func(t *testing.T) {
		t.Parallel()
		f, _ := newFile(t, "", "lib.go", t0)
		v2 := version(f.ID, 2, t0.Add(time.Hour))
		ok(t, "add v2", files.AddVersion(t.Context(), v2))
		got, err := files.Get(t.Context(), f.ID)
		ok(t, "get", err)
		if got.CurrentVersion != 2 || got.Size != v2.Size || got.Checksum != v2.Checksum || !got.UpdatedAt.Equal(stored(v2.CreatedAt)) {
			t.Errorf("after v2: %+v", got)
		}
		all, err := files.Versions(t.Context(), f.ID)
		ok(t, "versions", err)
		equal(t, "version numbers", []int{all[0].Version, all[len(all)-1].Version, len(all)}, []int{1, 2, 2})

		isErr(t, "v2 again", files.AddVersion(t.Context(), version(f.ID, 2, t0)), store.ErrConflict)
		isErr(t, "skipping to v4", files.AddVersion(t.Context(), version(f.ID, 4, t0)), store.ErrConflict)
		isErr(t, "unknown file", files.AddVersion(t.Context(), version(newID(), 2, t0)), store.ErrNotFound)
		ok(t, "delete", files.Delete(t.Context(), f.ID, time.Now()))
		isErr(t, "deleted file", files.AddVersion(t.Context(), version(f.ID, 3, t0)), store.ErrConflict)
	})

	t.Run("RaceAddVersion", func(t *testing.T) {
		t.Parallel()
		f, _ := newFile(t, "", "raced.go", t0)
		wins, _ := race(t, 10, func(int) (error, error) {
			return files.AddVersion(t.Context(), version(f.ID, 2, t0)), nil
		})
		if wins != 1 {
			t.Errorf("%d writers added version 2, want exactly 1", wins)
		}
		all, err := files.Versions(t.Context(), f.ID)
		ok(t, "versions", err)
		if len(all) != 2 {
			t.Errorf("%d versions after the race, want 2", len(all))
		}
	})

	t.Run("ListByProject", func(t *testing.T) {
		t.Parallel()
		p := newProject(t, s, "", "tree")
		b, _ := newFile(t, p.ID, "b/main.go", t0)
		a, _ := newFile(t, p.ID, "a.go", t0)
		c, _ := newFile(t, p.ID, "c.go", t0)
		gone, _ := newFile(t, p.ID, "b/old.go", t0)
		newFile(t, newProject(t, s, "", "other").ID, "a.go", t0)
		ok(t, "delete", files.Delete(t.Context(), gone.ID, time.Now()))

		got, err := files.ListByProject(t.Context(), p.ID)
		ok(t, "list", err)
		equal(t, "live files by path", ids(got, fileID), []string{a.ID, b.ID, c.ID})
		got, err = files.ListByProject(t.Context(), newID())
		ok(t, "list", err)
		if got == nil || len(got) != 0 {
			t.Errorf("unknown project: %#v, want an empty slice", got)
		}
	})

	t.Run("PathIsUniqueWhileLive", func(t *testing.T) {
		t.Parallel()
		p := newProject(t, s, "", "paths")
		first, _ := newFile(t, p.ID, "same.go", t0)
		dup := store.File{ID: newID(), ProjectID: p.ID, Path: "same.go"}
		isErr(t, "second live file at a path", files.Create(t.Context(), dup, version(dup.ID, 1, t0)), store.ErrConflict)
		ok(t, "delete", files.Delete(t.Context(), first.ID, time.Now()))
		ok(t, "recreate after delete", files.Create(t.Context(), dup, version(dup.ID, 1, t0)))
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		f, _ := newFile(t, "", "del.go", t0)
		when := t0.Add(time.Hour)
		ok(t, "delete", files.Delete(t.Context(), f.ID, when))
		got, err := files.Get(t.Context(), f.ID)
		ok(t, "get deleted", err)
		if got.DeletedAt == nil || !got.DeletedAt.Equal(stored(when)) || !got.UpdatedAt.Equal(stored(when)) {
			t.Errorf("after delete: %+v", got)
		}
		ok(t, "delete again", files.Delete(t.Context(), f.ID, when.Add(time.Hour)))
		again, err := files.Get(t.Context(), f.ID)
		ok(t, "get", err)
		equal(t, "a second delete changes nothing", again, got)
		isErr(t, "delete unknown", files.Delete(t.Context(), newID(), when), store.ErrNotFound)
	})
}
