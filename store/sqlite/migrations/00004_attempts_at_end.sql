-- +goose Up
-- Attempt history written once, when an attempt ends, and two redundant
-- indexes on tasks dropped. Mirrors
-- store/postgres/migrations/00004_attempts_at_end.sql, whose header gives
-- the measurements behind it and the reasoning in full; in short:
--
-- The task row describes its latest attempt, so task_attempts keeps only
-- the attempts the row no longer describes, each written once by a trigger
-- whose WHEN condition holds only at the transition that makes the row move
-- on; a first Start and the Finish of a first attempt (the usual task) run
-- no trigger program.
--   task_attempt_finished: a running row leaves running for a retry
--     (queued or pending, recorded as failed), a Start from running under
--     the same lease (a redelivery after its worker crashed or lost the
--     message) counts the next attempt (recorded as crashed), or a later
--     attempt (attempts > 1) ends; attempt = OLD.attempts, lease =
--     OLD.lease, started_at = OLD.updated_at, finished_at = NEW.updated_at,
--     the task's error message (none when completed).
--   task_attempt_reopened: a task whose first attempt ended it leaves that
--     final status (Revive, for a replay); the attempt is written from OLD
--     (started_at = OLD.started_at, finished_at = OLD.updated_at) unless a
--     row is already there.
-- Attempts and GetWithAttempts add the attempt the row describes
-- (store.WithRowAttempt): the one running (started_at = updated_at), or a
-- first attempt that ended the task.
--
-- updated_at of a running row is when its attempt started because the
-- Start that made it running set it, and the only statement that changes a
-- running row without leaving running is Start under the same lease, which
-- counts an attempt and so starts a new one. A statement added later that
-- touches a running row otherwise must keep its updated_at.
--
-- (user_id) and (status) are the leading columns of idx_tasks_user_id_id
-- and idx_tasks_status_id; each status change wrote both for nothing.
DROP INDEX idx_tasks_user_id;
DROP INDEX idx_tasks_status;

DROP TRIGGER task_attempt_ended;
DROP TRIGGER task_attempt_started;

-- +goose StatementBegin
CREATE TRIGGER task_attempt_finished AFTER UPDATE OF status, attempts ON tasks
WHEN OLD.status = 'running' AND (NEW.attempts > OLD.attempts
    OR NEW.status IN ('pending', 'queued') OR (NEW.status <> 'running' AND OLD.attempts > 1))
BEGIN
    INSERT INTO task_attempts (task_id, attempt, lease, status, error, started_at, finished_at)
    VALUES (OLD.id, OLD.attempts, OLD.lease,
        CASE WHEN NEW.status = 'running' THEN 'crashed'
             WHEN NEW.status IN ('pending', 'queued') THEN 'failed'
             ELSE NEW.status END,
        CASE WHEN NEW.status = 'running'
                 THEN 'the attempt ended without an outcome: its worker crashed or lost its lease'
             WHEN NEW.status = 'completed' THEN NULL
             ELSE NEW.error_message END,
        OLD.updated_at, NEW.updated_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER task_attempt_reopened AFTER UPDATE OF status ON tasks
WHEN OLD.attempts = 1 AND OLD.started_at IS NOT NULL
    AND OLD.status IN ('completed', 'failed', 'timeout', 'cancelled', 'dead_letter')
    AND NEW.status IN ('pending', 'queued', 'running')
BEGIN
    INSERT OR IGNORE INTO task_attempts (task_id, attempt, lease, status, error, started_at, finished_at)
    VALUES (OLD.id, OLD.attempts, OLD.lease, OLD.status,
        CASE WHEN OLD.status = 'completed' THEN NULL ELSE OLD.error_message END,
        OLD.started_at, OLD.updated_at);
END;
-- +goose StatementEnd

-- The rows 00003 opened for attempts still running: the task row stands for
-- them now, and the trigger writes them when they end.
DELETE FROM task_attempts WHERE finished_at IS NULL;

-- +goose Down
-- 00003's triggers as they were, with an open row for every running task's
-- current attempt, and a row for every first attempt that ended its task
-- (only the task row described those).
DROP TRIGGER task_attempt_reopened;
DROP TRIGGER task_attempt_finished;

INSERT OR IGNORE INTO task_attempts (task_id, attempt, lease, status, error, started_at, finished_at)
SELECT id, attempts, lease, status, CASE WHEN status = 'completed' THEN NULL ELSE error_message END,
    started_at, updated_at
FROM tasks
WHERE attempts = 1 AND started_at IS NOT NULL
    AND status IN ('completed', 'failed', 'timeout', 'cancelled', 'dead_letter');

-- +goose StatementBegin
CREATE TRIGGER task_attempt_started AFTER UPDATE OF attempts ON tasks
WHEN NEW.attempts > OLD.attempts
BEGIN
    UPDATE task_attempts
    SET status = 'crashed', finished_at = NEW.updated_at,
        error = 'the attempt ended without an outcome: its worker crashed or lost its lease'
    WHERE task_id = NEW.id AND finished_at IS NULL;
    INSERT INTO task_attempts (task_id, attempt, lease, status, started_at)
    VALUES (NEW.id, NEW.attempts, NEW.lease, 'running', NEW.updated_at);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER task_attempt_ended AFTER UPDATE OF status ON tasks
WHEN OLD.status = 'running' AND NEW.status <> 'running'
BEGIN
    UPDATE task_attempts
    SET status = CASE WHEN NEW.status IN ('pending', 'queued') THEN 'failed' ELSE NEW.status END,
        error = CASE WHEN NEW.status = 'completed' THEN NULL ELSE NEW.error_message END,
        finished_at = NEW.updated_at
    WHERE task_id = NEW.id AND attempt = NEW.attempts AND finished_at IS NULL;
END;
-- +goose StatementEnd

INSERT INTO task_attempts (task_id, attempt, lease, status, started_at)
SELECT id, attempts, lease, 'running', updated_at FROM tasks WHERE status = 'running';

CREATE INDEX idx_tasks_user_id ON tasks (user_id);
CREATE INDEX idx_tasks_status ON tasks (status);
