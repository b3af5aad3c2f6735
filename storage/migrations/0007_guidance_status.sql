-- /guidance status as a live panel, and the secretariat's line when a broadcast completes.
--
-- A panel is the admin's status message, re-rendered on a timer and edited while the
-- broadcasts it shows drain (one live panel per chat: a newer /guidance status replaces it).
CREATE TABLE guidance_panels (
    chat_id    INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL,
    language   TEXT NOT NULL,
    shown_hash TEXT NOT NULL,                      -- of the text the message shows
    edited_at  TEXT NOT NULL,                      -- when it was sent or last edited
    created_at TEXT NOT NULL
);

-- A guidance broadcast whose completion line was queued to the secretariat's groups: the
-- row and the outbox rows are written in one transaction, so the line goes exactly once.
CREATE TABLE guidance_notices (
    broadcast_id INTEGER PRIMARY KEY REFERENCES broadcasts(id),
    at           TEXT NOT NULL
);
-- broadcasts finished before this version: nothing to announce after the upgrade
INSERT INTO guidance_notices (broadcast_id, at)
    SELECT id, updated_at FROM broadcasts WHERE kind = 'guidance' AND state IN ('done', 'cancelled');
