-- +goose Up
-- Service keys: API keys of the service role (agents and NATS-native
-- services), issued and revoked by admins. Only the SHA-256 of a key is kept.
-- Mirrors store/sqlite/migrations/00002_service_keys.sql.
--   owner_id: the service user the key acts as (tasks it submits are that
--     user's); several keys may share one, so a key can be rotated.
--   created_by: the admin who issued it; NULL when issued by the CLI.
--   revoked_at: set once; a revoked key never authenticates again.
CREATE TABLE service_keys (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL,
    key_hash VARCHAR(64) UNIQUE NOT NULL,
    owner_id UUID NOT NULL REFERENCES users(id),
    created_by UUID REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);

CREATE INDEX idx_service_keys_owner ON service_keys(owner_id);

-- +goose Down
DROP TABLE service_keys;
