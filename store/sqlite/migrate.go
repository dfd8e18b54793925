package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"

	"github.com/ymera/ymera/store"
)

// migrations holds the schema history, compiled into the binary so that the
// binary and its schema always travel together.
//
//go:embed migrations/*.sql
var migrations embed.FS

// provider returns a goose provider over the embedded migrations. It runs
// them on the write connection, so they queue behind (and ahead of) this
// process's other writes; an embedded database has one process, so no
// cross-process migration lock is needed.
func (db *DB) provider() (*goose.Provider, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db.write, dir,
		goose.WithDisableGlobalRegistry(true), // no Go migrations registered by init()
	)
}

// MigrateUp applies every pending migration.
func (db *DB) MigrateUp(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		db.log.InfoContext(ctx, "migration applied", "backend", "sqlite",
			"version", r.Source.Version, "name", path.Base(r.Source.Path), "duration", r.Duration)
	}
	if err != nil {
		return fmt.Errorf("store: migrate up: %w", translate(err))
	}
	return nil
}

// MigrateDown rolls back the latest applied migration.
func (db *DB) MigrateDown(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	r, err := p.Down(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate down: %w", translate(err))
	}
	db.log.InfoContext(ctx, "migration rolled back", "backend", "sqlite",
		"version", r.Source.Version, "name", path.Base(r.Source.Path), "duration", r.Duration)
	return nil
}

// MigrateStatus lists every embedded migration, oldest first.
func (db *DB) MigrateStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	p, err := db.provider()
	if err != nil {
		return nil, fmt.Errorf("store: migrate status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate status: %w", translate(err))
	}
	out := make([]store.MigrationStatus, 0, len(st))
	for _, s := range st {
		m := store.MigrationStatus{
			Version: s.Source.Version,
			Name:    path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied,
		}
		if m.Applied {
			at := s.AppliedAt.UTC()
			m.AppliedAt = &at
		}
		out = append(out, m)
	}
	return out, nil
}
