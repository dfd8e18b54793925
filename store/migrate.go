package store

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/pressly/goose/v3"
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

// GooseMigrations runs a backend's embedded goose migrations and reports
// them as MigrationStatus. Each backend supplies how to build its provider
// (dialect, connection, lock) and how to translate its driver's errors; the
// running, logging and reporting are the same for all of them.
type GooseMigrations struct {
	// Backend names the backend in log lines ("sqlite", "postgres").
	Backend string
	// Provider builds a goose provider over the backend's migrations.
	Provider func() (*goose.Provider, error)
	// Translate maps driver errors to the store's sentinels.
	Translate func(error) error
	Log       *slog.Logger
}

// Up applies every pending migration, logging each one.
func (m GooseMigrations) Up(ctx context.Context) error {
	p, err := m.Provider()
	if err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		m.Log.InfoContext(ctx, "migration applied", "backend", m.Backend,
			"version", r.Source.Version, "name", path.Base(r.Source.Path), "duration", r.Duration)
	}
	if err != nil {
		return fmt.Errorf("store: migrate up: %w", m.Translate(err))
	}
	return nil
}

// Down rolls back the latest applied migration.
func (m GooseMigrations) Down(ctx context.Context) error {
	p, err := m.Provider()
	if err != nil {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	r, err := p.Down(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate down: %w", m.Translate(err))
	}
	m.Log.InfoContext(ctx, "migration rolled back", "backend", m.Backend,
		"version", r.Source.Version, "name", path.Base(r.Source.Path), "duration", r.Duration)
	return nil
}

// Status lists every embedded migration, oldest first.
func (m GooseMigrations) Status(ctx context.Context) ([]MigrationStatus, error) {
	p, err := m.Provider()
	if err != nil {
		return nil, fmt.Errorf("store: migrate status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate status: %w", m.Translate(err))
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		ms := MigrationStatus{
			Version: s.Source.Version,
			Name:    path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied,
		}
		if ms.Applied {
			at := s.AppliedAt.UTC()
			ms.AppliedAt = &at
		}
		out = append(out, ms)
	}
	return out, nil
}
