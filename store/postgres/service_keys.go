package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/store"
)

// serviceKeys implements store.ServiceKeys.
type serviceKeys struct{ db *DB }

// serviceKeyColumns is what scanServiceKey reads, in order.
const serviceKeyColumns = `id, name, key_hash, owner_id, COALESCE(created_by::text, ''),
	created_at, revoked_at, last_used_at`

func scanServiceKey(row pgx.Row) (store.ServiceKey, error) {
	var k store.ServiceKey
	err := row.Scan(&k.ID, &k.Name, &k.KeyHash, &k.OwnerID, &k.CreatedBy,
		&k.CreatedAt, &k.RevokedAt, &k.LastUsedAt)
	return k, err
}

// Create stores k; a zero CreatedAt is set to now.
func (r serviceKeys) Create(ctx context.Context, k store.ServiceKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = r.db.now()
	}
	if !validID(k.ID) || !validID(k.OwnerID) || (k.CreatedBy != "" && !validID(k.CreatedBy)) {
		// Not a UUID: names no user, so the reference cannot hold.
		return fmt.Errorf("store: create service key %s: id, owner or creator is not a UUID: %w", k.ID, store.ErrConflict)
	}
	_, err := r.db.exec(ctx, `INSERT INTO service_keys (id, name, key_hash, owner_id,
		created_by, created_at, revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.Name, k.KeyHash, k.OwnerID, nullable(k.CreatedBy), k.CreatedAt, k.RevokedAt, k.LastUsedAt)
	if err != nil {
		return fmt.Errorf("store: create service key %s: %w", k.ID, translate(err))
	}
	return nil
}

// Get returns the key with id.
func (r serviceKeys) Get(ctx context.Context, id string) (store.ServiceKey, error) {
	if !validID(id) {
		return store.ServiceKey{}, fmt.Errorf("store: get service key %s: %w", id, store.ErrNotFound)
	}
	k, err := scanServiceKey(r.db.queryRow(ctx, `SELECT `+serviceKeyColumns+` FROM service_keys WHERE id = $1`, id))
	if err != nil {
		return store.ServiceKey{}, fmt.Errorf("store: get service key %s: %w", id, translate(err))
	}
	return k, nil
}

// GetByHash returns the key whose hash is keyHash. The hash is not put in
// the error: it identifies a credential.
func (r serviceKeys) GetByHash(ctx context.Context, keyHash string) (store.ServiceKey, error) {
	k, err := scanServiceKey(r.db.queryRow(ctx, `SELECT `+serviceKeyColumns+` FROM service_keys WHERE key_hash = $1`, keyHash))
	if err != nil {
		return store.ServiceKey{}, fmt.Errorf("store: get service key by hash: %w", translate(err))
	}
	return k, nil
}

// List returns keys by id, after the cursor.
func (r serviceKeys) List(ctx context.Context, after string, limit int) ([]store.ServiceKey, error) {
	var p params
	var conds []string
	if after != "" {
		if !validID(after) {
			return nil, fmt.Errorf("store: list service keys: cursor %q is not a key id", after)
		}
		conds = append(conds, "id > "+p.add(after))
	}
	rows, err := r.db.query(ctx, `SELECT `+serviceKeyColumns+` FROM service_keys`+store.Where(conds)+
		` ORDER BY id LIMIT `+p.add(store.Limit(limit)), p...)
	if err != nil {
		return nil, fmt.Errorf("store: list service keys: %w", translate(err))
	}
	list, err := collect(rows, scanServiceKey)
	if err != nil {
		return nil, fmt.Errorf("store: list service keys: %w", translate(err))
	}
	return list, nil
}

// Revoke sets revoked_at once; a second revocation keeps the first time.
func (r serviceKeys) Revoke(ctx context.Context, id string, at time.Time) (store.ServiceKey, error) {
	if !validID(id) {
		return store.ServiceKey{}, fmt.Errorf("store: revoke service key %s: %w", id, store.ErrNotFound)
	}
	k, err := scanServiceKey(r.db.queryRow(ctx, `UPDATE service_keys
		SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING `+serviceKeyColumns, at, id))
	if err != nil {
		return store.ServiceKey{}, fmt.Errorf("store: revoke service key %s: %w", id, translate(err))
	}
	return k, nil
}

// Touch records a use of the key.
func (r serviceKeys) Touch(ctx context.Context, id string, at time.Time) error {
	if !validID(id) {
		return fmt.Errorf("store: touch service key %s: %w", id, store.ErrNotFound)
	}
	tag, err := r.db.exec(ctx, `UPDATE service_keys SET last_used_at = $1 WHERE id = $2`, at, id)
	if err != nil {
		return fmt.Errorf("store: touch service key %s: %w", id, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: touch service key %s: %w", id, store.ErrNotFound)
	}
	return nil
}
