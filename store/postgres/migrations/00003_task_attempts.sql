-- +goose Up
-- Attempt history: one row per attempt at a task, with its outcome and
-- error. Mirrors store/sqlite/migrations/00003_task_attempts.sql.
--
-- The rows are written by triggers on tasks, not by the Go code, so that an
-- attempt is recorded in the same statement as the transition that makes
-- it, whichever transition that is (Start, Finish, Requeue, DeadLetter, and
-- any added later): the history can never disagree with the task.
--   a Start that counts an attempt opens a row (status running); a row
--     still open then belonged to a delivery that ended without an outcome
--     (its worker crashed or lost its lease) and is closed as crashed;
--   leaving running closes the open row with the new status (queued or
--     pending, i.e. requeued for a retry, is recorded as failed) and the
--     task's error message.
-- 00004_attempts_at_end replaced both triggers with one that writes an
-- attempt's row only when the attempt ends; the running attempt is read
-- from the task row.
CREATE TABLE task_attempts (
    task_id UUID NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    lease BIGINT NOT NULL,
    status VARCHAR(20) NOT NULL
        CHECK (status IN ('running', 'completed', 'failed', 'timeout', 'cancelled',
                          'dead_letter', 'crashed')),
    error TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (task_id, attempt)
);

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

-- +goose Down
DROP TRIGGER task_attempt_ended ON tasks;
DROP TRIGGER task_attempt_started ON tasks;
DROP FUNCTION task_attempt_ended();
DROP FUNCTION task_attempt_started();
DROP TABLE task_attempts;
