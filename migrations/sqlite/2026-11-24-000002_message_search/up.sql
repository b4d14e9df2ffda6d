-- Fast substring search over messages, any script (Chinese included).
--
-- A contentless FTS5 table with the trigram tokenizer: every run of three
-- characters is a token, so a quoted phrase matches any substring of three
-- characters or more, case-insensitively. Shorter queries match nothing
-- through it; the store falls back to LIKE for those. The table holds only
-- the index (the text lives in `messages`): `body` is a text message's
-- content (other types keep a media path or an order number there, which
-- is not something to find), `file_name` the original name of a file,
-- image or voice note. The rowid is the message id.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    body,
    file_name,
    content = '',
    tokenize = 'trigram'
);

INSERT INTO messages_fts (rowid, body, file_name)
SELECT id, CASE WHEN message_type = 'text' THEN content END, file_name
FROM messages;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body, file_name)
    VALUES (new.id, CASE WHEN new.message_type = 'text' THEN new.content END, new.file_name);
END;

-- Messages are never changed or deleted today; should that come, the index
-- follows. A contentless table forgets a row through the 'delete' command,
-- given exactly the values that were indexed.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, file_name)
    VALUES ('delete', old.id, CASE WHEN old.message_type = 'text' THEN old.content END, old.file_name);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF message_type, content, file_name ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, file_name)
    VALUES ('delete', old.id, CASE WHEN old.message_type = 'text' THEN old.content END, old.file_name);
    INSERT INTO messages_fts (rowid, body, file_name)
    VALUES (new.id, CASE WHEN new.message_type = 'text' THEN new.content END, new.file_name);
END;

-- Time ranges (the search's `since`/`until`, the dashboard's counts per
-- hour or day) read this index instead of scanning every message.
CREATE INDEX messages_created ON messages (created_at);
