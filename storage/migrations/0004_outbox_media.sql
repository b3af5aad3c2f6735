-- The outbox carries every kind of message, and a broadcast is a row of its own.

-- Media an outbox row sends (photo, album item, document), stored once by content hash:
-- a chart sent to a group and three admins is one row here and one upload to Telegram.
-- The bytes live in the database (a BLOB), not in a file beside it: they are written in
-- the same transaction as the rows that send them (no file without its row, nor a row
-- whose file a crash never wrote), and a backup of the database holds them. Charts and
-- reports are tens to hundreds of KB, where SQLite reads a BLOB as fast as a file.
-- Telegram's file_id, once an upload was answered, is kept per way of sending (a photo's
-- file_id is the recompressed photo; a document's is the file as it was).
CREATE TABLE media (
    sha256           TEXT PRIMARY KEY,             -- hex digest of data
    data             BLOB NOT NULL,
    mime_type        TEXT NOT NULL,
    filename         TEXT NOT NULL,
    size             INTEGER NOT NULL,
    photo_file_id    TEXT,                         -- from sendPhoto / sendMediaGroup
    document_file_id TEXT,                         -- from sendDocument
    created_at       TEXT NOT NULL
);

-- One message to many chats (a digest, an alert): its fan-out rows are outbox rows naming
-- it, so its progress is counted from them, and pausing or cancelling it is one update.
CREATE TABLE broadcasts (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,                      -- what it is, e.g. 'guidance_alert'
    label      TEXT NOT NULL DEFAULT '',           -- shown to whoever watches it
    dedup_key  TEXT UNIQUE,                        -- its cause, so it starts once
    created_at TEXT NOT NULL,
    created_by INTEGER,                            -- who started it (NULL: the scheduler)
    state      TEXT NOT NULL DEFAULT 'running'
               CHECK (state IN ('running', 'paused', 'cancelled', 'done')),
    updated_at TEXT NOT NULL
);

ALTER TABLE outbox ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts(id);
-- Every message id of an album (message_id holds the first), as a JSON list.
ALTER TABLE outbox ADD COLUMN message_ids TEXT;
CREATE INDEX outbox_by_broadcast ON outbox (broadcast_id, status) WHERE broadcast_id IS NOT NULL;
