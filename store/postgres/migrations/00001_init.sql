-- +goose Up
-- The seed's schema (users, agents, tasks, projects, submissions and their
-- indexes) plus files, file versions and the columns task delivery needs.
--
-- Decisions, against the seed's DDL:
--   * Timestamps are TIMESTAMPTZ, not TIMESTAMP. A TIMESTAMPTZ is an instant:
--     no server or session time zone can shift what is stored, and it reads
--     back as the instant that was written (to the microsecond). TIMESTAMP
--     would silently depend on the writer's zone.
--   * JSON columns are JSONB: validated on write, compact, indexable. JSONB
--     keeps neither key order nor whitespace, so compare JSON by value.
--   * Ids are UUIDs supplied by the application (UUIDv7, so they sort by
--     creation time); the seed's gen_random_uuid() default stays for rows
--     inserted by hand.
--   * NOT NULL is added where the Go record cannot represent NULL (statuses,
--     flags, timestamps set on create); the seed's optional text columns stay
--     nullable and read back as "".
--   * Task statuses and priorities are checked, so a typo cannot park a task
--     in a state no transition knows.

CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    username VARCHAR(50) UNIQUE NOT NULL,
    email VARCHAR(255) UNIQUE NOT NULL,
    hashed_password VARCHAR(255) NOT NULL,
    first_name VARCHAR(100),
    last_name VARCHAR(100),
    role VARCHAR(20) NOT NULL DEFAULT 'user',
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login TIMESTAMPTZ
);

CREATE TABLE agents (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL,
    description TEXT,
    capabilities JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(capabilities) = 'array'),
    config JSONB DEFAULT '{}',
    status VARCHAR(20) NOT NULL DEFAULT 'inactive',
    last_heartbeat TIMESTAMPTZ,
    owner_id UUID REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- max_attempts: the submitter's retry limit, 0 for the runtime's default.
-- attempts: how many times an agent started the task.
-- lease: the JetStream stream sequence of the delivery that holds a running
--   task; transitions name it, so a stale or duplicate delivery changes nothing.
CREATE TABLE tasks (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(200) NOT NULL,
    description TEXT,
    task_type VARCHAR(50) NOT NULL,
    parameters JSONB DEFAULT '{}',
    priority VARCHAR(20) NOT NULL DEFAULT 'normal'
        CHECK (priority IN ('low', 'normal', 'high', 'critical')),
    status VARCHAR(20) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed',
                          'cancelled', 'timeout', 'dead_letter')),
    result JSONB,
    error_message TEXT,
    user_id UUID REFERENCES users(id),
    agent_id UUID REFERENCES agents(id),
    max_attempts INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(200) NOT NULL,
    description TEXT,
    repository_url VARCHAR(500),
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    config JSONB DEFAULT '{}',
    owner_id UUID REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE submissions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id UUID REFERENCES projects(id),
    user_id UUID REFERENCES users(id),
    code TEXT NOT NULL,
    quality_score DECIMAL(5,2),
    security_score DECIMAL(5,2),
    performance_score DECIMAL(5,2),
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    integration_strategy VARCHAR(50),
    result JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    integrated_at TIMESTAMPTZ
);

-- A file row carries its current version; the bytes of every version live in
-- the storage backend under storage_key.
CREATE TABLE files (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id UUID REFERENCES projects(id),
    owner_id UUID REFERENCES users(id),
    path VARCHAR(1024) NOT NULL,
    content_type VARCHAR(255) NOT NULL DEFAULT 'application/octet-stream',
    current_version INTEGER NOT NULL DEFAULT 1 CHECK (current_version > 0),
    size BIGINT NOT NULL DEFAULT 0,
    checksum VARCHAR(64) NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ
);

CREATE TABLE file_versions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    file_id UUID NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0),
    size BIGINT NOT NULL DEFAULT 0,
    checksum VARCHAR(64) NOT NULL DEFAULT '',
    storage_key TEXT NOT NULL,
    created_by UUID REFERENCES users(id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (file_id, version)
);

-- The seed's indexes.
CREATE INDEX idx_tasks_user_id ON tasks (user_id);
CREATE INDEX idx_tasks_status ON tasks (status);
CREATE INDEX idx_agents_status ON agents (status);
CREATE INDEX idx_agents_owner_id ON agents (owner_id);
CREATE INDEX idx_projects_owner_id ON projects (owner_id);
CREATE INDEX idx_submissions_project_id ON submissions (project_id);
CREATE INDEX idx_projects_name_search ON projects USING GIN (to_tsvector('english', name));

-- GET /tasks pages newest first by id within a user, a user and status, or a
-- status; each is an index range scan that stops after one page. (They make
-- idx_tasks_user_id and idx_tasks_status redundant; those stay here because
-- the seed names them, and 00004_attempts_at_end drops them.)
CREATE INDEX idx_tasks_user_id_id ON tasks (user_id, id DESC);
CREATE INDEX idx_tasks_user_id_status_id ON tasks (user_id, status, id DESC);
CREATE INDEX idx_tasks_status_id ON tasks (status, id DESC);
-- The sweep for tasks whose queue message may never have been stored: small,
-- because a task stays pending only until its publish is acknowledged.
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
