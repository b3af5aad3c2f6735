-- Regions and countries mirror config.toml (synced on start) so that rows elsewhere can
-- reference them; people, roles, NFP assignments, invites and the audit log are the state.
CREATE TABLE regions (
    key           TEXT PRIMARY KEY,
    group_chat_id INTEGER
);

CREATE TABLE countries (
    iso3       TEXT PRIMARY KEY,
    region_key TEXT NOT NULL REFERENCES regions(key),
    timezone   TEXT NOT NULL,
    status     TEXT NOT NULL
);

CREATE TABLE people (
    tg_id      INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL DEFAULT '',
    last_name  TEXT,
    username   TEXT,
    language   TEXT,            -- NULL until the person chose one
    blocked_at TEXT,            -- set when Telegram answers 403 (the person blocked the bot)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Admins may be named (config, CLI) before they ever talk to the bot: no FK to people.
CREATE TABLE admins (
    tg_id    INTEGER PRIMARY KEY,
    source   TEXT NOT NULL CHECK (source IN ('config', 'cli', 'bot')),
    added_by INTEGER,
    added_at TEXT NOT NULL
);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    iso3       TEXT NOT NULL REFERENCES countries(iso3),
    kind       TEXT NOT NULL CHECK (kind IN ('main', 'alternate')),
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by    INTEGER REFERENCES people(tg_id),
    used_at    TEXT,
    revoked_at TEXT
);

CREATE TABLE assignments (
    id          INTEGER PRIMARY KEY,
    tg_id       INTEGER NOT NULL REFERENCES people(tg_id),
    iso3        TEXT NOT NULL REFERENCES countries(iso3),
    kind        TEXT NOT NULL CHECK (kind IN ('main', 'alternate')),
    invite_code TEXT REFERENCES invites(code),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_by  INTEGER
);
CREATE UNIQUE INDEX assignments_one_active ON assignments (tg_id, iso3) WHERE revoked_at IS NULL;
CREATE INDEX assignments_by_country ON assignments (iso3) WHERE revoked_at IS NULL;

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  INTEGER,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT                 -- JSON
);
CREATE INDEX audit_by_time ON audit (at);
