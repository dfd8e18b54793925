-- +goose Up
-- One index fewer on tasks, (user_id, id DESC): see
-- store/postgres/migrations/00006_tasks_user_pages.sql, which this mirrors.
DROP INDEX idx_tasks_user_id_id;

-- +goose Down
CREATE INDEX idx_tasks_user_id_id ON tasks (user_id, id DESC);
