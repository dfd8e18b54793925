package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ymera/ymera/store"
)

func testSubmissions(t *testing.T, s store.Store) {
	subs := s.Submissions()
	submissionID := func(s store.Submission) string { return s.ID }

	t.Run("CreateGet", func(t *testing.T) {
		t.Parallel()
		user := newUser(t, s)
		p := newProject(t, s, user.ID, "p")
		integrated := t0.Add(time.Hour)
		want := store.Submission{
			ID:                  newID(),
			ProjectID:           p.ID,
			UserID:              user.ID,
			Code:                "package main\n\nfunc main() {}\n",
			QualityScore:        ptr(87.5),
			SecurityScore:       nil,
			PerformanceScore:    ptr(12.25),
			Status:              "verified",
			IntegrationStrategy: "merge",
			Result:              json.RawMessage(`{"issues": [{"line": 3, "msg": "unused"}]}`),
			CreatedAt:           t0,
			IntegratedAt:        &integrated,
		}
		ok(t, "create", subs.Create(t.Context(), want))
		got, err := subs.Get(t.Context(), want.ID)
		ok(t, "get", err)
		want.CreatedAt, want.IntegratedAt = stored(t0), storedPtr(want.IntegratedAt)
		want.Result, got.Result = canonJSON(t, want.Result), canonJSON(t, got.Result)
		equal(t, "Get", got, want)

		id := newID()
		ok(t, "create bare", subs.Create(t.Context(), store.Submission{ID: id, Code: "x"}))
		got, err = subs.Get(t.Context(), id)
		ok(t, "get bare", err)
		if got.Status != "pending" || got.Result != nil || got.QualityScore != nil || got.ProjectID != "" || got.CreatedAt.IsZero() {
			t.Errorf("defaults: %+v", got)
		}

		isErr(t, "same id", subs.Create(t.Context(), store.Submission{ID: id, Code: "y"}), store.ErrConflict)
		isErr(t, "unknown project", subs.Create(t.Context(), store.Submission{ID: newID(), ProjectID: newID(), Code: "y"}), store.ErrConflict)
		_, err = subs.Get(t.Context(), newID())
		isErr(t, "Get unknown", err, store.ErrNotFound)
	})

	t.Run("ScoresRoundToCents", func(t *testing.T) {
		t.Parallel()
		id := newID()
		ok(t, "create", subs.Create(t.Context(), store.Submission{ID: id, Code: "x", QualityScore: ptr(99.126)}))
		got, err := subs.Get(t.Context(), id)
		ok(t, "get", err)
		if got.QualityScore == nil || *got.QualityScore != 99.13 {
			t.Errorf("score 99.126 stored as %v, want 99.13", got.QualityScore)
		}
	})

	t.Run("ListByProject", func(t *testing.T) {
		t.Parallel()
		p := newProject(t, s, "", "p")
		var want []string
		for i := range 4 {
			sub := store.Submission{ID: newID(), ProjectID: p.ID, Code: "x", CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
			ok(t, "create", subs.Create(t.Context(), sub))
			want = append([]string{sub.ID}, want...) // newest first
		}
		other := newProject(t, s, "", "other")
		ok(t, "create", subs.Create(t.Context(), store.Submission{ID: newID(), ProjectID: other.ID, Code: "x"}))

		got, err := subs.ListByProject(t.Context(), p.ID, 0)
		ok(t, "list", err)
		equal(t, "all", ids(got, submissionID), want)
		got, err = subs.ListByProject(t.Context(), p.ID, 2)
		ok(t, "list", err)
		equal(t, "limited", ids(got, submissionID), want[:2])
		got, err = subs.ListByProject(t.Context(), newID(), 0)
		ok(t, "list", err)
		if got == nil || len(got) != 0 {
			t.Errorf("unknown project: %#v, want an empty slice", got)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		sub := store.Submission{ID: newID(), Code: "x", Status: "pending", CreatedAt: t0, Result: json.RawMessage(`{"a":1}`)}
		ok(t, "create", subs.Create(t.Context(), sub))
		integrated := time.Now()
		got, err := subs.Update(t.Context(), sub.ID, store.SubmissionUpdate{
			QualityScore:        ptr(70.0),
			SecurityScore:       ptr(80.5),
			PerformanceScore:    ptr(90.25),
			Status:              ptr("integrated"),
			IntegrationStrategy: ptr("rebase"),
			Result:              ptr(json.RawMessage(nil)),
			IntegratedAt:        &integrated,
		})
		ok(t, "update", err)
		want := sub
		want.QualityScore, want.SecurityScore, want.PerformanceScore = ptr(70.0), ptr(80.5), ptr(90.25)
		want.Status, want.IntegrationStrategy, want.Result = "integrated", "rebase", nil
		want.CreatedAt, want.IntegratedAt = stored(t0), storedPtr(&integrated)
		equal(t, "Update result", got, want)
		again, err := subs.Update(t.Context(), sub.ID, store.SubmissionUpdate{})
		ok(t, "empty update", err)
		equal(t, "empty update", again, want)
		_, err = subs.Update(t.Context(), newID(), store.SubmissionUpdate{Status: ptr("x")})
		isErr(t, "Update unknown", err, store.ErrNotFound)
		_, err = subs.Update(t.Context(), newID(), store.SubmissionUpdate{})
		isErr(t, "empty Update unknown", err, store.ErrNotFound)
	})
}
