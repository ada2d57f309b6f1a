-- The fleet's shared control state (docs/FLEET.md). Every replica migrates it at start (Flyway takes a
-- lock, so concurrent starts apply each version once). Times are the database's own clock (now()), so
-- replicas' clocks never have to agree.

-- Every replica that ever joined: its address for forwarding, its heartbeat, and its load.
CREATE TABLE replicas (
    id           text PRIMARY KEY,
    url          text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    state        text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'dead', 'stopped')),
    running      integer NOT NULL DEFAULT 0,
    pending      integer NOT NULL DEFAULT 0,
    sessions     integer NOT NULL DEFAULT 0
);

-- One row: on for every replica while engaged.
CREATE TABLE kill_switch (
    id      integer PRIMARY KEY CHECK (id = 1),
    engaged boolean NOT NULL,
    by_whom text,
    reason  text,
    at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO kill_switch (id, engaged) VALUES (1, false);

-- Held calls (L4): held by one replica, decided on any.
CREATE TABLE approvals (
    id          text PRIMARY KEY,
    replica     text NOT NULL,
    identity    text NOT NULL,
    tool        text NOT NULL,
    summary     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    decided_by  text,
    decided_at  timestamptz,
    reason      text
);
CREATE INDEX approvals_pending ON approvals (replica) WHERE status = 'pending';

-- The index of executions: who, where, status. The run itself stays on its replica.
CREATE TABLE executions (
    id          text PRIMARY KEY,
    replica     text NOT NULL,
    identity    text NOT NULL,
    session     text,
    tool        text NOT NULL,
    tier        text,
    background  boolean NOT NULL DEFAULT false,
    status      text NOT NULL DEFAULT 'running',
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    message     text
);
CREATE INDEX executions_running ON executions (replica) WHERE status = 'running';

-- MCP sessions (2025-11-25 Mcp-Session-Id, and the modern era's standing sessions): which replica owns each.
CREATE TABLE sessions (
    id          text PRIMARY KEY,
    replica     text NOT NULL,
    identity    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz
);
CREATE INDEX sessions_replica ON sessions (replica) WHERE ended_at IS NULL;

-- Durable workspaces: they live on one replica's disk.
CREATE TABLE workspaces (
    id          text PRIMARY KEY,
    replica     text NOT NULL,
    identity    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    deleted_at  timestamptz
);
