-- +goose Up
-- The submit outbox. The submit writer inserts a batch of tasks as queued
-- and, in the same statement, one entry listing the ids it inserted; once
-- every message of the batch is stored in JetStream it deletes the entry.
-- An entry left behind (the process died between the commit and the
-- PubAcks) tells the Sweeper which queued tasks may have no message: it
-- republishes those still queued and deletes the entry. This replaces an
-- UPDATE of every row from pending to queued after the publish: one of the
-- four writes of each task's row, and one that rewrote every index of tasks
-- (36 us a task in a 64-row batch on PostgreSQL 15), plus a commit.
-- Mirrors store/sqlite/migrations/00005_task_outbox.sql.
--   task_ids: no foreign key (an array cannot have one); a task deleted
--     meanwhile is simply not found by the Sweeper.
-- Entries live for one publish, so the table stays tiny and is read by a
-- scan; it has no index besides its key, which keeps its insert cheap.
CREATE TABLE task_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_ids UUID[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE task_outbox;
