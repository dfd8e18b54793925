package storetest

import (
	"testing"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
)

// Migrated is a store whose schema a test may move.
type Migrated interface {
	store.Store
	store.Migrator
}

// AttemptsMigration holds migration 00004 (an attempt's row is written when
// the attempt ends, and the running one is read from the task) to a round
// trip over a history made under it: down to 00003 gives every running task
// its open row back, 00003's triggers then work as before, and up again
// drops the open rows while every history reads as it did. s must be
// migrated up, on a database of its own; openRows counts the rows of
// task_attempts without finished_at, in the backend's SQL.
func AttemptsMigration(t *testing.T, s Migrated, openRows func(t *testing.T) int) {
	ctx := t.Context()
	tasks := s.Tasks()
	crashed := "the attempt ended without an outcome: its worker crashed or lost its lease"

	running, done, later := newTask(t, s, ""), newTask(t, s, ""), newTask(t, s, "")
	_, err := tasks.Start(ctx, running.ID, 1, atSec(1))
	ok(t, "start", err)
	ok(t, "requeue", tasks.Requeue(ctx, running.ID, 1, "flaky", atSec(2)))
	_, err = tasks.Start(ctx, running.ID, 2, atSec(3))
	ok(t, "start again", err)
	_, err = tasks.Start(ctx, done.ID, 3, atSec(1))
	ok(t, "start", err)
	ok(t, "finish", tasks.Finish(ctx, done.ID, 3, store.Outcome{Status: actors.StatusCompleted}, atSec(2)))

	history := map[string][]store.Attempt{
		running.ID: {
			{Attempt: 1, Lease: 1, Status: "failed", Error: "flaky", StartedAt: atSec(1), FinishedAt: ptr(atSec(2))},
			{Attempt: 2, Lease: 2, Status: "running", StartedAt: atSec(3)},
		},
		done.ID: {{Attempt: 1, Lease: 3, Status: "completed", StartedAt: atSec(1), FinishedAt: ptr(atSec(2))}},
	}
	check := func(when string) {
		t.Helper()
		for id, want := range history {
			list, err := tasks.Attempts(ctx, id)
			ok(t, "attempts", err)
			equal(t, "attempts "+when, list, want)
		}
	}
	check("under 00004")
	equal(t, "open rows under 00004", openRows(t), 0)

	migrateDownTo(t, s, 3)
	equal(t, "open rows after down to 00003", openRows(t), 1)
	// 00003's triggers: a start opens a row, a redelivery closes it as
	// crashed and opens the next.
	_, err = tasks.Start(ctx, later.ID, 4, atSec(4))
	ok(t, "start under 00003", err)
	_, err = tasks.Start(ctx, later.ID, 4, atSec(5))
	ok(t, "redelivery under 00003", err)
	equal(t, "open rows under 00003", openRows(t), 2)

	ok(t, "migrate up", s.MigrateUp(ctx))
	equal(t, "open rows after up again", openRows(t), 0)
	history[later.ID] = []store.Attempt{
		{Attempt: 1, Lease: 4, Status: store.AttemptCrashed, Error: crashed, StartedAt: atSec(4), FinishedAt: ptr(atSec(5))},
		{Attempt: 2, Lease: 4, Status: "running", StartedAt: atSec(5)},
	}
	check("after up again")

	// The attempts that were open end as any other does.
	ok(t, "finish", tasks.Finish(ctx, running.ID, 2, store.Outcome{Status: actors.StatusCompleted}, atSec(6)))
	ok(t, "requeue", tasks.Requeue(ctx, later.ID, 4, "overloaded", atSec(6)))
	history[running.ID][1] = store.Attempt{Attempt: 2, Lease: 2, Status: "completed", StartedAt: atSec(3), FinishedAt: ptr(atSec(6))}
	history[later.ID][1] = store.Attempt{Attempt: 2, Lease: 4, Status: "failed", Error: "overloaded",
		StartedAt: atSec(5), FinishedAt: ptr(atSec(6))}
	check("after they end")
}

// migrateDownTo rolls s back one migration at a time until version is the
// latest applied.
func migrateDownTo(t *testing.T, s Migrated, version int64) {
	t.Helper()
	for {
		st, err := s.MigrateStatus(t.Context())
		ok(t, "migrate status", err)
		var latest int64
		for _, m := range st {
			if m.Applied {
				latest = max(latest, m.Version)
			}
		}
		if latest <= version {
			return
		}
		ok(t, "migrate down", s.MigrateDown(t.Context()))
	}
}
