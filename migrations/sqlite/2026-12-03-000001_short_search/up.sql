-- Search without scanning at any query length, indexed off the send path.
--
-- The store's indexer (crates/store/src/search_index.rs) now fills both
-- search indexes in batches, right after the writes that stored the
-- messages commit, instead of a trigger inside every send. Each index
-- remembers up to which message id it is complete.
CREATE TABLE search_index_state (
    name TEXT PRIMARY KEY NOT NULL,
    indexed_up_to BIGINT NOT NULL
);
-- The trigram index holds every message so far (its trigger indexed them);
-- the short-gram index starts empty and the indexer backfills it, a batch
-- at a time (it resumes from its mark after a restart).
INSERT INTO search_index_state (name, indexed_up_to)
VALUES ('trigram', (SELECT coalesce(max(id), 0) FROM messages)), ('grams', 0);

-- One- and two-character queries: per message, its distinct case-folded
-- grams of one and two characters (of a text message's content and any
-- message's file name), each the hex of its UTF-8 bytes, so the `ascii`
-- tokenizer keeps every gram one token, punctuation included. A gram is
-- found with `MATCH '"<hex>"'`; no positions are needed (`detail=none`).
-- `contentless_delete` lets a row be dropped by its rowid alone.
CREATE VIRTUAL TABLE messages_grams USING fts5(
    grams,
    content = '',
    contentless_delete = 1,
    detail = none,
    tokenize = 'ascii'
);

-- Messages whose text changed after they were indexed: the indexer
-- indexes their grams again.
CREATE TABLE search_reindex (
    message_id INTEGER PRIMARY KEY NOT NULL
);

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;

-- Messages are never changed or deleted today; should that come, the
-- indexes follow, for the messages they already hold. A contentless FTS5
-- table forgets a row through the 'delete' command, given exactly the
-- values that were indexed.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.id <= (SELECT indexed_up_to FROM search_index_state WHERE name = 'trigram')
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, file_name)
    VALUES ('delete', old.id, CASE WHEN old.message_type = 'text' THEN old.content END, old.file_name);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF message_type, content, file_name ON messages
WHEN old.id <= (SELECT indexed_up_to FROM search_index_state WHERE name = 'trigram')
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, file_name)
    VALUES ('delete', old.id, CASE WHEN old.message_type = 'text' THEN old.content END, old.file_name);
    INSERT INTO messages_fts (rowid, body, file_name)
    VALUES (new.id, CASE WHEN new.message_type = 'text' THEN new.content END, new.file_name);
END;
CREATE TRIGGER messages_grams_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_grams WHERE rowid = old.id;
END;
CREATE TRIGGER messages_grams_update AFTER UPDATE OF message_type, content, file_name ON messages
WHEN old.id <= (SELECT indexed_up_to FROM search_index_state WHERE name = 'grams')
BEGIN
    DELETE FROM messages_grams WHERE rowid = old.id;
    INSERT OR IGNORE INTO search_reindex (message_id) VALUES (old.id);
END;
