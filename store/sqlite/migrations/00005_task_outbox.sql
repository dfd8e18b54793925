-- +goose Up
-- The submit outbox: see store/postgres/migrations/00005_task_outbox.sql,
-- which this mirrors. task_ids is a JSON array of task ids, written in the
-- same transaction as the batch's rows.
CREATE TABLE task_outbox (
    id INTEGER PRIMARY KEY,
    task_ids TEXT NOT NULL CHECK (json_valid(task_ids) AND json_type(task_ids) = 'array'),
    created_at TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE task_outbox;
