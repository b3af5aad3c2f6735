-- The guidance library (WHO guidelines and information materials), who subscribes to
-- which topics and languages, NFPs' read acknowledgements, and the admin's draft of an
-- item being added (conversation state lives here so that a restart resumes it).

CREATE TABLE guidance_items (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    url          TEXT,                             -- an https link, or NULL for a document
    file_id      TEXT,                             -- Telegram file_id of a PDF/DOCX, re-sent by it
    file_name    TEXT,
    source       TEXT NOT NULL,                    -- 'who', 'ecdc', 'secretariat'
    language     TEXT NOT NULL,
    summary      TEXT NOT NULL DEFAULT '',
    created_by   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    withdrawn_at TEXT,
    CHECK ((url IS NULL) != (file_id IS NULL))
);
-- one item per link: adding it again offers to update the existing item
CREATE UNIQUE INDEX guidance_items_url ON guidance_items (url) WHERE url IS NOT NULL;
CREATE INDEX guidance_items_latest ON guidance_items (language, created_at)
    WHERE withdrawn_at IS NULL;

CREATE TABLE guidance_item_topics (
    item_id INTEGER NOT NULL REFERENCES guidance_items(id),
    topic   TEXT NOT NULL,
    PRIMARY KEY (item_id, topic)
);

-- Full-text search over title and summary. unicode61 folds case for Cyrillic as for Latin;
-- remove_diacritics 2 also folds ё to е (and й to и, on both sides alike); prefix indexes
-- make the prefix queries /guidance builds cheap.
CREATE VIRTUAL TABLE guidance_fts USING fts5(
    title, summary,
    content = 'guidance_items', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TRIGGER guidance_items_ai AFTER INSERT ON guidance_items BEGIN
    INSERT INTO guidance_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;
CREATE TRIGGER guidance_items_ad AFTER DELETE ON guidance_items BEGIN
    INSERT INTO guidance_fts (guidance_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
END;
CREATE TRIGGER guidance_items_au AFTER UPDATE OF title, summary ON guidance_items BEGIN
    INSERT INTO guidance_fts (guidance_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    INSERT INTO guidance_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
END;

-- A subscription: 'on' with its topics and languages, or 'off' (left: an NFP, subscribed by
-- default while there is no row, stays unsubscribed).
CREATE TABLE subscriptions (
    tg_id      INTEGER PRIMARY KEY REFERENCES people(tg_id),
    status     TEXT NOT NULL CHECK (status IN ('on', 'off')),
    updated_at TEXT NOT NULL
);
CREATE TABLE subscription_topics (
    tg_id INTEGER NOT NULL REFERENCES subscriptions(tg_id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    PRIMARY KEY (tg_id, topic)
);
CREATE TABLE subscription_languages (
    tg_id    INTEGER NOT NULL REFERENCES subscriptions(tg_id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    PRIMARY KEY (tg_id, language)
);

-- A country's NFP read the item; the first tap per country and person counts, once.
-- acked_by becomes NULL when that person asks to be forgotten: the country's fact stays.
CREATE TABLE guidance_acks (
    item_id  INTEGER NOT NULL REFERENCES guidance_items(id),
    iso3     TEXT NOT NULL,
    acked_by INTEGER,
    at       TEXT NOT NULL
);
CREATE UNIQUE INDEX guidance_acks_once ON guidance_acks (item_id, iso3, acked_by);

-- An admin's item being added or edited (one per admin), and saved searches for paging.
CREATE TABLE guidance_drafts (
    tg_id      INTEGER PRIMARY KEY,
    data       TEXT NOT NULL,                      -- JSON
    updated_at TEXT NOT NULL
);
CREATE TABLE guidance_searches (
    id    INTEGER PRIMARY KEY,
    tg_id INTEGER NOT NULL,
    query TEXT NOT NULL,
    at    TEXT NOT NULL
);
