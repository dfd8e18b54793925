package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ymera/ymera/store"
)

// files implements store.Files. A file row carries its current version's
// number, size and checksum; the versions themselves are immutable rows in
// file_versions, unique on (file_id, version).
type files struct{ db *DB }

// fileColumns is what scanFile reads, in order.
const fileColumns = `id, COALESCE(project_id, ''), COALESCE(owner_id, ''), path,
	content_type, current_version, size, checksum, created_at, updated_at, deleted_at`

func scanFile(row scanner) (store.File, error) {
	var f store.File
	err := row.Scan(&f.ID, &f.ProjectID, &f.OwnerID, &f.Path,
		&f.ContentType, &f.CurrentVersion, &f.Size, &f.Checksum,
		timeCol{&f.CreatedAt}, timeCol{&f.UpdatedAt}, nullTimeCol{&f.DeletedAt})
	return f, err
}

// versionColumns is what scanVersion reads, in order.
const versionColumns = `id, file_id, version, size, checksum, storage_key,
	COALESCE(created_by, ''), created_at`

func scanVersion(row scanner) (store.FileVersion, error) {
	var v store.FileVersion
	err := row.Scan(&v.ID, &v.FileID, &v.Version, &v.Size, &v.Checksum, &v.StorageKey,
		&v.CreatedBy, timeCol{&v.CreatedAt})
	return v, err
}

// Create stores f with its first version v in one transaction. The file's
// current version, size and checksum are taken from v, so they cannot
// disagree. store.ErrConflict if the id is taken or a live file of the same
// project already has f.Path.
func (r files) Create(ctx context.Context, f store.File, v store.FileVersion) error {
	if err := firstVersion(&f, &v, r.db.now); err != nil {
		return fmt.Errorf("store: create file %s: %w", f.ID, err)
	}
	err := r.db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO files (id, project_id, owner_id, path, content_type,
			current_version, size, checksum, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			f.ID, nullable(f.ProjectID), nullable(f.OwnerID), f.Path, f.ContentType,
			f.CurrentVersion, f.Size, f.Checksum, timeArg(f.CreatedAt), timeArg(f.UpdatedAt))
		if err != nil {
			return err
		}
		return insertVersion(ctx, tx, v)
	})
	if err != nil {
		return fmt.Errorf("store: create file %s: %w", f.ID, translate(err))
	}
	return nil
}

// firstVersion checks that v can be f's first version and fills what the
// caller may leave out. Both backends share these rules.
func firstVersion(f *store.File, v *store.FileVersion, now func() time.Time) error {
	if v.Version == 0 {
		v.Version = 1
	}
	if v.Version != 1 {
		return fmt.Errorf("first version is %d, not 1", v.Version)
	}
	if v.FileID == "" {
		v.FileID = f.ID
	}
	if v.FileID != f.ID {
		return fmt.Errorf("version belongs to file %s", v.FileID)
	}
	if f.ContentType == "" {
		f.ContentType = "application/octet-stream"
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = now()
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = f.CreatedAt
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = f.CreatedAt
	}
	f.CurrentVersion, f.Size, f.Checksum = v.Version, v.Size, v.Checksum
	return nil
}

func insertVersion(ctx context.Context, tx *sql.Tx, v store.FileVersion) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO file_versions (id, file_id, version, size, checksum,
		storage_key, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		v.ID, v.FileID, v.Version, v.Size, v.Checksum, v.StorageKey, nullable(v.CreatedBy), timeArg(v.CreatedAt))
	return err
}

// Get returns the file with id, deleted or not.
func (r files) Get(ctx context.Context, id string) (store.File, error) {
	f, err := scanFile(r.db.read.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = $1`, id))
	if err != nil {
		return store.File{}, fmt.Errorf("store: get file %s: %w", id, translate(err))
	}
	return f, nil
}

// ListByProject returns a project's live files ordered by path.
func (r files) ListByProject(ctx context.Context, projectID string) ([]store.File, error) {
	rows, err := r.db.read.QueryContext(ctx, `SELECT `+fileColumns+` FROM files
		WHERE project_id = $1 AND deleted_at IS NULL ORDER BY path`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: list files of project %s: %w", projectID, translate(err))
	}
	list, err := collect(rows, scanFile)
	if err != nil {
		return nil, fmt.Errorf("store: list files of project %s: %w", projectID, translate(err))
	}
	return list, nil
}

// AddVersion appends v and makes it current. The conditional UPDATE of the
// file row matches only while the file is live and at v.Version-1, so of two
// writers adding the same version one gets store.ErrConflict. (Here the
// single write connection already serialises them; the unique (file_id,
// version) is the backstop on both backends.)
func (r files) AddVersion(ctx context.Context, v store.FileVersion) error {
	if v.CreatedAt.IsZero() {
		v.CreatedAt = r.db.now()
	}
	err := r.db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE files
			SET current_version = $2, size = $3, checksum = $4, updated_at = $5
			WHERE id = $1 AND current_version = $2 - 1 AND deleted_at IS NULL`,
			v.FileID, v.Version, v.Size, v.Checksum, timeArg(v.CreatedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return r.miss(ctx, tx, v.FileID)
		}
		return insertVersion(ctx, tx, v)
	})
	if err != nil {
		return fmt.Errorf("store: add version %d to file %s: %w", v.Version, v.FileID, translate(err))
	}
	return nil
}

// miss explains why AddVersion's UPDATE matched no row. It reads through tx:
// the write connection is held by it.
func (r files) miss(ctx context.Context, tx *sql.Tx, id string) error {
	var current int
	var deleted bool
	err := tx.QueryRowContext(ctx, `SELECT current_version, deleted_at IS NOT NULL FROM files WHERE id = $1`, id).
		Scan(&current, &deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	case deleted:
		return fmt.Errorf("%w: file is deleted", store.ErrConflict)
	}
	return fmt.Errorf("%w: current version is %d", store.ErrConflict, current)
}

// Versions returns every version of a file, oldest first. A file always
// keeps its current version, so no rows means no file: store.ErrNotFound.
func (r files) Versions(ctx context.Context, fileID string) ([]store.FileVersion, error) {
	rows, err := r.db.read.QueryContext(ctx, `SELECT `+versionColumns+` FROM file_versions
		WHERE file_id = $1 ORDER BY version`, fileID)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of file %s: %w", fileID, translate(err))
	}
	list, err := collect(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of file %s: %w", fileID, translate(err))
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("store: list versions of file %s: %w", fileID, store.ErrNotFound)
	}
	return list, nil
}

// Version returns one version of a file.
func (r files) Version(ctx context.Context, fileID string, version int) (store.FileVersion, error) {
	v, err := scanVersion(r.db.read.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM file_versions
		WHERE file_id = $1 AND version = $2`, fileID, version))
	if err != nil {
		return store.FileVersion{}, fmt.Errorf("store: get version %d of file %s: %w", version, fileID, translate(err))
	}
	return v, nil
}

// PruneVersions deletes the non-current versions created before olderThan
// and returns them, in one statement.
func (r files) PruneVersions(ctx context.Context, olderThan time.Time) ([]store.FileVersion, error) {
	rows, err := r.db.write.QueryContext(ctx, `DELETE FROM file_versions
		WHERE created_at < $1
			AND version <> (SELECT f.current_version FROM files f WHERE f.id = file_versions.file_id)
		RETURNING `+versionColumns, timeArg(olderThan))
	if err != nil {
		return nil, fmt.Errorf("store: prune file versions: %w", translate(err))
	}
	list, err := collect(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("store: prune file versions: %w", translate(err))
	}
	return list, nil
}

// Delete marks the file deleted. Deleting a deleted file changes nothing.
func (r files) Delete(ctx context.Context, id string, now time.Time) error {
	res, err := r.db.write.ExecContext(ctx, `UPDATE files
		SET deleted_at = COALESCE(deleted_at, $2),
			updated_at = CASE WHEN deleted_at IS NULL THEN $2 ELSE updated_at END
		WHERE id = $1`, id, timeArg(now))
	if err != nil {
		return fmt.Errorf("store: delete file %s: %w", id, translate(err))
	}
	if n, _ := res.RowsAffected(); n == 0 { // the driver always knows the count
		return fmt.Errorf("store: delete file %s: %w", id, store.ErrNotFound)
	}
	return nil
}
