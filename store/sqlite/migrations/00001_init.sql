-- +goose Up
-- The seed's schema (users, agents, tasks, projects, submissions and their
-- indexes) plus files, file versions and the columns task delivery needs, in
-- SQLite's terms. It mirrors store/postgres/migrations/00001_init.sql table
-- for table and index for index; the differences:
--   * STRICT tables, so a value of the wrong type is an error, as on
--     PostgreSQL, instead of being stored as whatever it happens to be.
--   * Ids are TEXT (the application's UUIDv7 strings, lowercase).
--   * Timestamps are TEXT in UTC, fixed width with microseconds
--     ('2006-01-02T15:04:05.000000Z'): text order is time order, and the
--     precision is PostgreSQL's, so both backends return the same instant.
--     The defaults produce the same width, for rows inserted by hand.
--   * JSON is TEXT, checked with json_valid() as JSONB is checked on
--     PostgreSQL. SQLite keeps it byte for byte.
--   * Booleans are INTEGER 0/1; DECIMAL(5,2) scores are REAL, rounded to two
--     places by the statements that write them.
--   * VARCHAR lengths are not enforced (SQLite has no such type); the API
--     validates lengths before they reach either store.
--   * No full-text index: project search is LIKE on the name.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT UNIQUE NOT NULL,
    email TEXT UNIQUE NOT NULL,
    hashed_password TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    role TEXT NOT NULL DEFAULT 'user',
    is_active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    last_login TEXT
) STRICT;

CREATE TABLE agents (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    capabilities TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(capabilities) AND json_type(capabilities) = 'array'),
    config TEXT DEFAULT '{}' CHECK (config IS NULL OR json_valid(config)),
    status TEXT NOT NULL DEFAULT 'inactive',
    last_heartbeat TEXT,
    owner_id TEXT REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;

-- max_attempts: the submitter's retry limit, 0 for the runtime's default.
-- attempts: how many times an agent started the task.
-- lease: the JetStream stream sequence of the delivery that holds a running
--   task; transitions name it, so a stale or duplicate delivery changes nothing.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    task_type TEXT NOT NULL,
    parameters TEXT DEFAULT '{}' CHECK (parameters IS NULL OR json_valid(parameters)),
    priority TEXT NOT NULL DEFAULT 'normal'
        CHECK (priority IN ('low', 'normal', 'high', 'critical')),
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed',
                          'cancelled', 'timeout', 'dead_letter')),
    result TEXT CHECK (result IS NULL OR json_valid(result)),
    error_message TEXT,
    user_id TEXT REFERENCES users(id),
    agent_id TEXT REFERENCES agents(id),
    max_attempts INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    started_at TEXT,
    completed_at TEXT,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    repository_url TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    config TEXT DEFAULT '{}' CHECK (config IS NULL OR json_valid(config)),
    owner_id TEXT REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
) STRICT;

CREATE TABLE submissions (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT REFERENCES projects(id),
    user_id TEXT REFERENCES users(id),
    code TEXT NOT NULL,
    quality_score REAL,
    security_score REAL,
    performance_score REAL,
    status TEXT NOT NULL DEFAULT 'pending',
    integration_strategy TEXT,
    result TEXT CHECK (result IS NULL OR json_valid(result)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    integrated_at TEXT
) STRICT;

-- A file row carries its current version; the bytes of every version live in
-- the storage backend under storage_key.
CREATE TABLE files (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT REFERENCES projects(id),
    owner_id TEXT REFERENCES users(id),
    path TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    current_version INTEGER NOT NULL DEFAULT 1 CHECK (current_version > 0),
    size INTEGER NOT NULL DEFAULT 0,
    checksum TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    deleted_at TEXT
) STRICT;

CREATE TABLE file_versions (
    id TEXT PRIMARY KEY NOT NULL,
    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0),
    size INTEGER NOT NULL DEFAULT 0,
    checksum TEXT NOT NULL DEFAULT '',
    storage_key TEXT NOT NULL,
    created_by TEXT REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    UNIQUE (file_id, version)
) STRICT;

-- The seed's indexes.
CREATE INDEX idx_tasks_user_id ON tasks (user_id);
CREATE INDEX idx_tasks_status ON tasks (status);
CREATE INDEX idx_agents_status ON agents (status);
CREATE INDEX idx_agents_owner_id ON agents (owner_id);
CREATE INDEX idx_projects_owner_id ON projects (owner_id);
CREATE INDEX idx_submissions_project_id ON submissions (project_id);

-- GET /tasks pages newest first by id within a user, a user and status, or a
-- status; each is an index range scan that stops after one page.
CREATE INDEX idx_tasks_user_id_id ON tasks (user_id, id DESC);
CREATE INDEX idx_tasks_user_id_status_id ON tasks (user_id, status, id DESC);
CREATE INDEX idx_tasks_status_id ON tasks (status, id DESC);
-- The sweep for tasks whose queue message may never have been stored.
CREATE INDEX idx_tasks_pending_created_at ON tasks (created_at) WHERE status = 'pending';

-- A project's live files by path, one live file per path.
CREATE UNIQUE INDEX idx_files_project_id_path ON files (project_id, path) WHERE deleted_at IS NULL;
CREATE INDEX idx_files_owner_id ON files (owner_id);
-- PruneVersions scans versions by age.
CREATE INDEX idx_file_versions_created_at ON file_versions (created_at);

-- +goose Down
DROP TABLE file_versions;
DROP TABLE files;
DROP TABLE submissions;
DROP TABLE projects;
DROP TABLE tasks;
DROP TABLE agents;
DROP TABLE users;
