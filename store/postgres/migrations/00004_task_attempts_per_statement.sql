-- +goose Up
-- Attempt history written once per statement instead of once per row. The
-- batched writers (StartBatch, FinishBatch) change up to 256 tasks in one
-- UPDATE, and the row triggers of 00003 then ran a plpgsql call and its own
-- UPDATE or INSERT on task_attempts for each of them. This trigger does the
-- same work for the whole statement, from its transition tables: one join
-- of the old and new rows, one UPDATE, one INSERT.
--
-- The meaning is 00003's, row for row:
--   a task whose attempts went up opens a row for the new attempt (status
--     running, its lease, started_at = updated_at), and any row of it still
--     open is closed as crashed: that delivery ended without an outcome. A
--     Start from running under the same lease (a redelivery) is this case
--     too, since the status does not change;
--   a task that left running closes its open row of the current attempt
--     with the new status (pending or queued, i.e. requeued for a retry, is
--     recorded as failed) and the task's error message (none when it
--     completed).
-- The row triggers fired the leaving one before the starting one (by name),
-- so when one UPDATE did both to a task, the current attempt got the
-- leaving status and only the others were closed as crashed; the CASE
-- below keeps that order. The rows opened here are not closed by the same
-- statement: the UPDATE in the WITH sees task_attempts as it was before it.
--
-- PostgreSQL does not allow a column list (UPDATE OF) with transition
-- tables, so the trigger fires for every UPDATE of tasks, and picks the
-- rows it cares about itself; for the others it costs one empty join.
-- +goose StatementBegin
CREATE FUNCTION task_attempts_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS (
        SELECT n.id, n.attempts, n.lease, n.status, n.error_message, n.updated_at,
            n.attempts > o.attempts AS started,
            o.status = 'running' AND n.status <> 'running' AS ended
        FROM task_attempts_old o JOIN task_attempts_new n ON n.id = o.id
        WHERE n.attempts > o.attempts OR (o.status = 'running' AND n.status <> 'running')
    ), closed AS (
        UPDATE task_attempts a
        SET status = CASE
                WHEN NOT (m.ended AND a.attempt = m.attempts) THEN 'crashed'
                WHEN m.status IN ('pending', 'queued') THEN 'failed'
                ELSE m.status END,
            error = CASE
                WHEN NOT (m.ended AND a.attempt = m.attempts)
                    THEN 'the attempt ended without an outcome: its worker crashed or lost its lease'
                WHEN m.status = 'completed' THEN NULL
                ELSE m.error_message END,
            finished_at = m.updated_at
        FROM moved m
        -- A task in moved that did not start has ended: only its current
        -- attempt closes.
        WHERE a.task_id = m.id AND a.finished_at IS NULL AND (m.started OR a.attempt = m.attempts)
    )
    INSERT INTO task_attempts (task_id, attempt, lease, status, started_at)
    SELECT id, attempts, lease, 'running', updated_at FROM moved WHERE started;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

DROP TRIGGER task_attempt_ended ON tasks;
DROP TRIGGER task_attempt_started ON tasks;
DROP FUNCTION task_attempt_ended();
DROP FUNCTION task_attempt_started();

CREATE TRIGGER task_attempts_record AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS task_attempts_old NEW TABLE AS task_attempts_new
    FOR EACH STATEMENT EXECUTE FUNCTION task_attempts_record();

-- +goose Down
-- The row triggers of 00003, as they were.
DROP TRIGGER task_attempts_record ON tasks;
DROP FUNCTION task_attempts_record();

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
