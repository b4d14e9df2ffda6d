-- Back to two sides on the conversation; groups and their messages go.
PRAGMA foreign_keys = OFF;
BEGIN;

DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE kind = 'group');
DELETE FROM participants WHERE conversation_id IN (SELECT id FROM conversations WHERE kind = 'group');
DELETE FROM conversations WHERE kind = 'group';

CREATE TABLE conversations_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES users (id),
    merchant_id TEXT NOT NULL REFERENCES users (id),
    last_message TEXT,
    last_message_type TEXT,
    last_message_time BIGINT,
    last_message_id BIGINT NOT NULL DEFAULT 0,
    customer_unread_count INTEGER NOT NULL DEFAULT 0,
    merchant_unread_count INTEGER NOT NULL DEFAULT 0,
    customer_last_read_message_id BIGINT NOT NULL DEFAULT 0,
    merchant_last_read_message_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (customer_id, merchant_id)
);
INSERT INTO conversations_old
SELECT c.id, c.customer_id, c.merchant_id, c.last_message, c.last_message_type,
    c.last_message_time, c.last_message_id,
    cu.unread_count, ag.unread_count, cu.last_read_message_id, ag.last_read_message_id,
    c.created_at, c.updated_at
FROM conversations c
JOIN participants cu ON cu.conversation_id = c.id AND cu.role = 'customer'
JOIN participants ag ON ag.conversation_id = c.id AND ag.role = 'agent';
DROP TABLE participants;
DROP TABLE conversations;
ALTER TABLE conversations_old RENAME TO conversations;
CREATE INDEX conversations_customer_activity ON conversations (customer_id, last_message_id DESC, id DESC);
CREATE INDEX conversations_merchant_activity ON conversations (merchant_id, last_message_id DESC, id DESC);
CREATE INDEX conversations_activity ON conversations (last_message_id DESC, id DESC);

DELETE FROM messages WHERE message_type IN ('system', 'call');
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
CREATE TABLE messages_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    sender_id TEXT NOT NULL REFERENCES users (id),
    message_type TEXT NOT NULL CHECK (message_type IN ('text', 'image', 'file', 'voice', 'order')),
    content TEXT NOT NULL,
    client_msg_id TEXT,
    upload_id TEXT REFERENCES uploads (id),
    file_name TEXT,
    file_size BIGINT,
    mime TEXT,
    thumbnail_path TEXT,
    width INTEGER,
    height INTEGER,
    duration_ms BIGINT,
    order_snapshot TEXT,
    created_at BIGINT NOT NULL
);
INSERT INTO messages_old
SELECT id, conversation_id, sender_id, message_type, content, client_msg_id, upload_id,
    file_name, file_size, mime, thumbnail_path, width, height, duration_ms, order_snapshot, created_at
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_sender ON messages (sender_id, id);
CREATE INDEX messages_type ON messages (message_type, id);
CREATE INDEX messages_created ON messages (created_at);
CREATE UNIQUE INDEX messages_client_msg_id ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
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

COMMIT;
PRAGMA foreign_keys = ON;
