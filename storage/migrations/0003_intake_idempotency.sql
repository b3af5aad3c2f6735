-- Every answer lands once, on the question it was given for.

-- Updates whose effect is committed: the row is written in the same transaction as the
-- effect, so an update Telegram delivers again (its getUpdates confirmation was lost in a
-- crash) is recognised and not applied twice. Pruned after a week (Telegram numbers
-- updates at random again after a week without any).
CREATE TABLE processed_updates (
    update_id INTEGER PRIMARY KEY,
    at        TEXT NOT NULL
);
CREATE INDEX processed_updates_at ON processed_updates (at);

-- The Telegram message a typed answer came from (NULL for buttons): an edit of that
-- message corrects that answer and no other.
ALTER TABLE answers ADD COLUMN message_id INTEGER;
CREATE INDEX answers_by_message ON answers (answered_by, message_id)
    WHERE message_id IS NOT NULL;

-- The screen the bot last showed for the session: its message id (in a private chat ids
-- grow on both sides, so a message with a lower id was typed before that screen was
-- there), whether it had buttons (to remove them once it no longer applies), or the outbox
-- row that will show it when the reply itself was refused.
ALTER TABLE sessions ADD COLUMN shown_message_id INTEGER;
ALTER TABLE sessions ADD COLUMN shown_keyboard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN shown_outbox_id INTEGER;

-- The questionnaire version in force when each version was confirmed.
ALTER TABLE report_versions ADD COLUMN questionnaire_version INTEGER;

-- Updates fetched from Telegram, kept before getUpdates confirms them (PTB confirms a batch
-- with its very next poll, before processing it): one confirmed and then lost in a crash
-- is processed at the next start. A row goes once its update was processed to the end
-- (reply included); one whose effect was committed but whose reply died with the process
-- is replayed at the start, recognised as processed, and the person re-shown their screen.
CREATE TABLE update_inbox (
    update_id INTEGER PRIMARY KEY,
    payload   TEXT NOT NULL,                       -- the update as JSON
    at        TEXT NOT NULL
);
