DROP TRIGGER IF EXISTS messages_grams_update;
DROP TRIGGER IF EXISTS messages_grams_delete;
DROP TRIGGER IF EXISTS messages_fts_update;
DROP TRIGGER IF EXISTS messages_fts_delete;
-- The trigram index as its triggers keep it: every message.
INSERT INTO messages_fts (rowid, body, file_name)
SELECT id, CASE WHEN message_type = 'text' THEN content END, file_name
FROM messages
WHERE id > (SELECT indexed_up_to FROM search_index_state WHERE name = 'trigram');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body, file_name)
    VALUES (new.id, CASE WHEN new.message_type = 'text' THEN new.content END, new.file_name);
END;
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
DROP TABLE IF EXISTS search_reindex;
DROP TABLE IF EXISTS messages_grams;
DROP TABLE IF EXISTS search_index_state;
