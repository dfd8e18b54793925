package postgres

import (
	"context"
	"embed"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/ymera/ymera/store"
)

// migrations holds the schema history, compiled into the binary so that the
// binary and its schema always travel together.
//
//go:embed migrations/*.sql
var migrations embed.FS

// provider returns a goose provider over the embedded migrations. A
// PostgreSQL advisory lock serialises migrations, so two replicas running
// `ymera migrate up` at once apply each migration once.
func (db *DB) provider() (*goose.Provider, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 60))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db.sqlDB, dir,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true), // no Go migrations registered by init()
	)
}

// migrations runs the embedded migrations through the shared goose runner.
func (db *DB) migrations() store.GooseMigrations {
	return store.GooseMigrations{Backend: "postgres", Provider: db.provider, Translate: translate, Log: db.log}
}

// MigrateUp applies every pending migration.
func (db *DB) MigrateUp(ctx context.Context) error { return db.migrations().Up(ctx) }

// MigrateDown rolls back the latest applied migration.
func (db *DB) MigrateDown(ctx context.Context) error { return db.migrations().Down(ctx) }

// MigrateStatus lists every embedded migration, oldest first.
func (db *DB) MigrateStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	return db.migrations().Status(ctx)
}
