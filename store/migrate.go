package store

import (
	"context"
	"time"
)

// Migrator is implemented by backends whose schema is versioned by embedded
// migrations. Opening a store never migrates it: `ymera migrate up` (or the
// embedded `ymera serve`) calls MigrateUp explicitly, so that a gateway replica
// starting against an older schema fails loudly instead of racing another
// replica to change it.
type Migrator interface {
	// MigrateUp applies every pending migration, in order.
	MigrateUp(ctx context.Context) error
	// MigrateDown rolls back the most recently applied migration, one step.
	MigrateDown(ctx context.Context) error
	// MigrateStatus lists every known migration, oldest first, with whether
	// and when it was applied.
	MigrateStatus(ctx context.Context) ([]MigrationStatus, error)
}

// MigrationStatus describes one embedded migration.
type MigrationStatus struct {
	// Version is the numeric prefix of the migration file.
	Version int64
	// Name is the migration file name, e.g. "00001_init.sql".
	Name string
	// Applied reports whether the database has this migration.
	Applied bool
	// AppliedAt is when it was applied; nil when it is pending.
	AppliedAt *time.Time
}
