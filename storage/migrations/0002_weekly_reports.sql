-- The weekly reporting cycle: reports with their working answers and confirmed versions,
-- per-person conversation state, what the scheduler already did, and the outbox.

CREATE TABLE reports (
    id                    INTEGER PRIMARY KEY,
    iso3                  TEXT NOT NULL REFERENCES countries(iso3),
    week                  TEXT NOT NULL,          -- ISO week reported on, e.g. '2026-W47'
    questionnaire_version INTEGER NOT NULL,
    editor                INTEGER REFERENCES people(tg_id),  -- who is filling it in now
    editor_since          TEXT,
    version               INTEGER NOT NULL DEFAULT 0,        -- latest confirmed version, 0 = none
    first_confirmed_at    TEXT,
    late                  INTEGER NOT NULL DEFAULT 0,        -- first confirmed after the deadline
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    UNIQUE (iso3, week)
);

-- The working copy: each answer is written the moment it is given (NULL value = skipped).
CREATE TABLE answers (
    report_id   INTEGER NOT NULL REFERENCES reports(id),
    key         TEXT NOT NULL,
    value       TEXT,                              -- JSON
    answered_by INTEGER NOT NULL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (report_id, key)
);

-- Every confirmed version, never changed afterwards; the highest one is the report.
CREATE TABLE report_versions (
    report_id    INTEGER NOT NULL REFERENCES reports(id),
    version      INTEGER NOT NULL,
    answers      TEXT NOT NULL,                    -- JSON object key -> value
    confirmed_by INTEGER NOT NULL,
    confirmed_at TEXT NOT NULL,
    late         INTEGER NOT NULL,
    after_digest INTEGER NOT NULL,
    warnings     TEXT,                             -- JSON list of plausibility checks confirmed anyway
    PRIMARY KEY (report_id, version)
);

-- Where each person is in a conversation; survives restarts. nonce grows with every screen
-- shown, and buttons carry it, so a button from an older screen is recognised as stale.
CREATE TABLE sessions (
    tg_id      INTEGER PRIMARY KEY REFERENCES people(tg_id),
    report_id  INTEGER REFERENCES reports(id),
    step       TEXT,
    mode       TEXT NOT NULL DEFAULT 'fill',
    data       TEXT,                               -- JSON scratch (multi-choice selection, revision)
    nonce      INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

-- What the scheduler did per country and week, so a restart neither loses nor repeats it.
CREATE TABLE cycle_events (
    iso3  TEXT NOT NULL,
    week  TEXT NOT NULL,
    event TEXT NOT NULL,                           -- 'prompt', 'reminder:0', 'late_notice', ...
    at    TEXT NOT NULL,
    PRIMARY KEY (iso3, week, event)
);

CREATE TABLE digests (
    region_key TEXT NOT NULL REFERENCES regions(key),
    week       TEXT NOT NULL,
    posted_at  TEXT NOT NULL,
    PRIMARY KEY (region_key, week)
);

-- Corrections of an earlier week's figure, kept beside the original confirmed value.
CREATE TABLE revisions (
    id        INTEGER PRIMARY KEY,
    iso3      TEXT NOT NULL REFERENCES countries(iso3),
    week      TEXT NOT NULL,
    key       TEXT NOT NULL,
    old_value TEXT,                                -- JSON
    new_value TEXT NOT NULL,                       -- JSON
    reason    TEXT NOT NULL,
    by        INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX revisions_by_week ON revisions (iso3, week);

CREATE TABLE clarifications (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports(id),
    version     INTEGER NOT NULL,
    asked_by    INTEGER NOT NULL,
    comment     TEXT NOT NULL,
    asked_at    TEXT NOT NULL,
    answered_by INTEGER,
    answer      TEXT,
    answered_at TEXT
);

CREATE TABLE delegations (
    id         INTEGER PRIMARY KEY,
    iso3       TEXT NOT NULL REFERENCES countries(iso3),
    from_id    INTEGER NOT NULL REFERENCES people(tg_id),
    to_id      INTEGER NOT NULL REFERENCES people(tg_id),
    until      TEXT NOT NULL,                      -- last day (country-local date), inclusive
    created_at TEXT NOT NULL,
    ended_at   TEXT
);

-- Every proactive message goes through here: written in the same transaction as its cause,
-- sent once by the one sender (dedup_key), paced within Telegram's limits.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    dedup_key  TEXT NOT NULL UNIQUE,
    chat_id    INTEGER NOT NULL,
    kind       TEXT NOT NULL,                      -- 'prompt', 'reminder', 'late_notice', ...
    payload    TEXT NOT NULL,                      -- JSON: text, buttons, ...
    created_at TEXT NOT NULL,
    not_before TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'blocked')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at    TEXT,
    message_id INTEGER
);
CREATE INDEX outbox_due ON outbox (not_before) WHERE status IN ('pending', 'sending');
