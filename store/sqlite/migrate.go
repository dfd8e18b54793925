package sqlite

import (
	"context"
	"embed"
	"io/fs"

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

// migrations runs the embedded migrations through the shared goose runner.
func (db *DB) migrations() store.GooseMigrations {
	return store.GooseMigrations{Backend: "sqlite", Provider: db.provider, Translate: translate, Log: db.log}
}

// MigrateUp applies every pending migration.
func (db *DB) MigrateUp(ctx context.Context) error { return db.migrations().Up(ctx) }

// MigrateDown rolls back the latest applied migration.
func (db *DB) MigrateDown(ctx context.Context) error { return db.migrations().Down(ctx) }

// MigrateStatus lists every embedded migration, oldest first.
func (db *DB) MigrateStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	return db.migrations().Status(ctx)
}
