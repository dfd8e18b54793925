-- +goose Up
-- Attempt history written once, when an attempt ends, and two redundant
-- indexes on tasks dropped: every task goes insert, start, finish through
-- batched UPDATEs, and PostgreSQL's CPU per task is what limits throughput.
-- Mirrors store/sqlite/migrations/00004_attempts_at_end.sql.
--
-- Measured before this migration (EXPLAIN ANALYZE, a batch of 64 rows on a
-- 220k-row tasks table, PostgreSQL 15): the Start UPDATE took 4.0 ms, of
-- which 2.5 ms in the trigger task_attempt_started (a 'crashed' probe UPDATE
-- and an INSERT per row); the Finish UPDATE took 3.8 ms, of which 1.1 ms in
-- task_attempt_ended (an UPDATE per row).
--
-- What replaces 00003's two triggers: the task row itself describes its
-- latest attempt (attempts, lease, status, error_message, started_at,
-- updated_at), so task_attempts keeps only the attempts the row no longer
-- describes, each written once, by a row trigger whose WHEN condition holds
-- only at the transition that makes the row stop describing it. A first
-- Start and the Finish of a first attempt (the usual task: one start, one
-- outcome) fire no trigger at all, not even a function call.
-- task_attempt_finished INSERTs the attempt a running row just ended, when
--   it leaves running for a retry (queued or pending, recorded as failed),
--   when a Start counts another attempt over it (Start under the same lease,
--   a redelivery of the message whose worker crashed or lost it before
--   reporting; recorded as crashed, as 00003 did), or when it ends a later
--   attempt (attempts > 1: the row's started_at is the first attempt's);
--   attempt = OLD.attempts, lease = OLD.lease, error the task's error
--   message (none when it completed or was requeued without one),
--   started_at = OLD.updated_at, finished_at = NEW.updated_at.
-- task_attempt_reopened INSERTs a first attempt that had ended the task
--   (completed, failed, timeout, cancelled, dead_letter) when the task
--   leaves that final status (Revive, for a replay): from OLD, started_at =
--   OLD.started_at (the first start), finished_at = OLD.updated_at. A row
--   already there (the attempt was requeued before the task ended) stays.
-- Attempts and GetWithAttempts add the attempt the row describes: while it
-- runs (status running, started_at = updated_at, no finished_at), and once
-- a first attempt has ended the task (its status and error, started_at,
-- finished_at = updated_at) unless task_attempts holds it. The history
-- reads as it did under 00003.
--
-- Why updated_at is when the running attempt started: the Start that made
-- the row running set it, and no statement changes a running row while
-- leaving it running except Start under the same lease, which counts an
-- attempt, so that time is the start of the attempt it begins (and the
-- trigger has recorded the previous one from OLD first). MarkQueued,
-- Cancel, Abandon and Revive match no running row (Cancel returns a running
-- task untouched), and keep-alives go to NATS (InProgress), not here. A
-- statement added later that touches a running row without leaving running
-- or counting an attempt must keep its updated_at, or this history gets a
-- wrong started_at.
--
-- The indexes: (user_id) and (status) are the leading columns of
-- idx_tasks_user_id_id and idx_tasks_status_id, which serve every query
-- they served (and the user_id foreign key's lookups), while every non-HOT
-- update of a task, i.e. each status change, inserted into them too.
DROP INDEX idx_tasks_user_id;
DROP INDEX idx_tasks_status;

DROP TRIGGER task_attempt_ended ON tasks;
DROP TRIGGER task_attempt_started ON tasks;
DROP FUNCTION task_attempt_ended();
DROP FUNCTION task_attempt_started();

-- +goose StatementBegin
CREATE FUNCTION task_attempt_finished() RETURNS trigger LANGUAGE plpgsql AS $$
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
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION task_attempt_reopened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_attempts (task_id, attempt, lease, status, error, started_at, finished_at)
    VALUES (OLD.id, OLD.attempts, OLD.lease, OLD.status,
        CASE WHEN OLD.status = 'completed' THEN NULL ELSE OLD.error_message END,
        OLD.started_at, OLD.updated_at)
    ON CONFLICT (task_id, attempt) DO NOTHING;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER task_attempt_finished AFTER UPDATE OF status, attempts ON tasks
    FOR EACH ROW WHEN (OLD.status = 'running' AND (NEW.attempts > OLD.attempts
        OR NEW.status IN ('pending', 'queued') OR (NEW.status <> 'running' AND OLD.attempts > 1)))
    EXECUTE FUNCTION task_attempt_finished();
CREATE TRIGGER task_attempt_reopened AFTER UPDATE OF status ON tasks
    FOR EACH ROW WHEN (OLD.attempts = 1 AND OLD.started_at IS NOT NULL
        AND OLD.status IN ('completed', 'failed', 'timeout', 'cancelled', 'dead_letter')
        AND NEW.status IN ('pending', 'queued', 'running'))
    EXECUTE FUNCTION task_attempt_reopened();

-- The rows 00003 opened for attempts still running: the task row stands for
-- them now, and the trigger writes them when they end.
DELETE FROM task_attempts WHERE finished_at IS NULL;

-- +goose Down
-- 00003's triggers as they were, with an open row for every running task's
-- current attempt (started when its Start set updated_at, see above).
DROP TRIGGER task_attempt_reopened ON tasks;
DROP TRIGGER task_attempt_finished ON tasks;
DROP FUNCTION task_attempt_reopened();
DROP FUNCTION task_attempt_finished();

-- First attempts that ended their task, which only the task row described.
INSERT INTO task_attempts (task_id, attempt, lease, status, error, started_at, finished_at)
SELECT id, attempts, lease, status, CASE WHEN status = 'completed' THEN NULL ELSE error_message END,
    started_at, updated_at
FROM tasks
WHERE attempts = 1 AND started_at IS NOT NULL
    AND status IN ('completed', 'failed', 'timeout', 'cancelled', 'dead_letter')
ON CONFLICT (task_id, attempt) DO NOTHING;

-- +goose StatementBegin
CREATE FUNCTION task_attempt_started() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task_attempts
    SET status = 'crashed', finished_at = NEW.updated_at,
        error = 'the attempt ended without an outcome: its worker crashed or lost its lease'
    WHERE task_id = NEW.id AND finished_at IS NULL;
    INSERT INTO task_attempts (task_id, attempt, lease, status, started_at)
    VALUES (NEW.id, NEW.attempts, NEW.lease, 'running', NEW.updated_at);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION task_attempt_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE task_attempts
    SET status = CASE WHEN NEW.status IN ('pending', 'queued') THEN 'failed' ELSE NEW.status END,
        error = CASE WHEN NEW.status = 'completed' THEN NULL ELSE NEW.error_message END,
        finished_at = NEW.updated_at
    WHERE task_id = NEW.id AND attempt = NEW.attempts AND finished_at IS NULL;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER task_attempt_started AFTER UPDATE OF attempts ON tasks
    FOR EACH ROW WHEN (NEW.attempts > OLD.attempts) EXECUTE FUNCTION task_attempt_started();
CREATE TRIGGER task_attempt_ended AFTER UPDATE OF status ON tasks
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running') EXECUTE FUNCTION task_attempt_ended();

INSERT INTO task_attempts (task_id, attempt, lease, status, started_at)
SELECT id, attempts, lease, 'running', updated_at FROM tasks WHERE status = 'running';

CREATE INDEX idx_tasks_user_id ON tasks (user_id);
CREATE INDEX idx_tasks_status ON tasks (status);
