-- +goose Up
-- One index fewer on tasks: (user_id, id DESC) goes. Every task's insert,
-- and every change of its status (an UPDATE that cannot be HOT, since
-- status is indexed), added an entry to it; measured in process at 64
-- connections, PostgreSQL's CPU a task fell from 47 to 43 us without it
-- (docs/performance.md, step 28). A page of one user's tasks of every
-- status is now read through idx_tasks_user_id_status_id, one range per
-- status merged by id (store.TaskPageSQL), and the foreign key's lookups
-- by user_id use that index's leading column.
-- Mirrors store/sqlite/migrations/00006_tasks_user_pages.sql.
DROP INDEX idx_tasks_user_id_id;

-- +goose Down
CREATE INDEX idx_tasks_user_id_id ON tasks (user_id, id DESC);
