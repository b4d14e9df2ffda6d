-- Call records, and which messages count as unread.
--
-- A `call` message carries the ended call (JSON) and its outcome (for the
-- dashboard's counts). Whether a message counts as unread for the other
-- members is decided when it is written (system messages never do; a call
-- record only when the call was missed) and kept, so every recount agrees.
ALTER TABLE messages
    ADD COLUMN call_record TEXT,
    ADD COLUMN call_outcome TEXT,
    ADD COLUMN counts_unread BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE messages SET counts_unread = FALSE WHERE message_type = 'system';
CREATE INDEX messages_calls ON messages (created_at, call_outcome) WHERE message_type = 'call';
