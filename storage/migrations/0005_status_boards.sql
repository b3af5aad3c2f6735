-- The live status board: one message per region and week in the region's group, posted
-- (and pinned) once, then edited in place as reports arrive. A new week gets a new row and
-- a new message; the old one stays in the group as the record.
CREATE TABLE status_boards (
    region_key  TEXT NOT NULL,
    week        TEXT NOT NULL,                 -- ISO week, e.g. 2026-W47
    chat_id     INTEGER NOT NULL,              -- the group it was posted to
    outbox_id   INTEGER,                       -- the outbox row that posts it
    message_id  INTEGER,                       -- once posted
    shown_hash  TEXT NOT NULL,                 -- of the text last queued (post or edit)
    edits       INTEGER NOT NULL DEFAULT 0,
    edited_at   TEXT,                          -- when the last edit was queued
    created_at  TEXT NOT NULL,
    PRIMARY KEY (region_key, week)
);
