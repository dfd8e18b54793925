-- +goose Up
-- Service keys: API keys of the service role (agents and NATS-native
-- services), issued and revoked by admins. Only the SHA-256 of a key is kept.
-- Mirrors store/postgres/migrations/00002_service_keys.sql.
--   owner_id: the service user the key acts as (tasks it submits are that
--     user's); several keys may share one, so a key can be rotated.
--   created_by: the admin who issued it; NULL when issued by the CLI.
--   revoked_at: set once; a revoked key never authenticates again.
CREATE TABLE service_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT UNIQUE NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    revoked_at TEXT,
    last_used_at TEXT
) STRICT;

CREATE INDEX idx_service_keys_owner ON service_keys(owner_id);

-- +goose Down
DROP TABLE service_keys;
