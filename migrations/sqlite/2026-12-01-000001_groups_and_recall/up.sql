-- Groups, mediation and recall.
--
-- Participants become rows, one per member, holding what used to be the
-- two sides' columns on the conversation (read mark and unread count) plus
-- a role and the join point. A direct conversation keeps its customer and
-- agent ids (the unique pair); a group has none. Messages gain `system`
-- (membership changes) and `call` types, a recall time, and a system
-- event. Ids, counts and read marks are carried over unchanged.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE conversations_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'direct' CHECK (kind IN ('direct', 'group')),
    title TEXT,
    created_by TEXT REFERENCES users (id),
    mediates_conversation_id INTEGER REFERENCES conversations (id),
    customer_id TEXT REFERENCES users (id),
    merchant_id TEXT REFERENCES users (id),
    last_message TEXT,
    last_message_type TEXT,
    last_message_time BIGINT,
    last_message_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (customer_id, merchant_id),
    CHECK ((kind = 'direct') = (customer_id IS NOT NULL AND merchant_id IS NOT NULL))
);
INSERT INTO conversations_new (id, kind, customer_id, merchant_id, last_message,
    last_message_type, last_message_time, last_message_id, created_at, updated_at)
SELECT id, 'direct', customer_id, merchant_id, last_message, last_message_type,
    last_message_time, last_message_id, created_at, updated_at
FROM conversations;

CREATE TABLE participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'member')),
    last_read_message_id BIGINT NOT NULL DEFAULT 0,
    unread_count INTEGER NOT NULL DEFAULT 0,
    joined_at BIGINT NOT NULL,
    -- The member sees the messages with larger ids (those sent since he
    -- joined); 0 for the two sides of a direct conversation.
    visible_after_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
INSERT INTO participants (conversation_id, user_id, role, last_read_message_id, unread_count, joined_at)
SELECT id, customer_id, 'customer', customer_last_read_message_id, customer_unread_count, created_at
FROM conversations;
INSERT INTO participants (conversation_id, user_id, role, last_read_message_id, unread_count, joined_at)
SELECT id, merchant_id, 'agent', merchant_last_read_message_id, merchant_unread_count, created_at
FROM conversations;

DROP TABLE conversations;
ALTER TABLE conversations_new RENAME TO conversations;
CREATE INDEX conversations_activity ON conversations (last_message_id DESC, id DESC);
CREATE INDEX conversations_mediates ON conversations (mediates_conversation_id)
    WHERE mediates_conversation_id IS NOT NULL;
-- A user's conversations, and who is in one.
CREATE INDEX participants_user ON participants (user_id, conversation_id);

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
CREATE TABLE messages_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    sender_id TEXT NOT NULL REFERENCES users (id),
    message_type TEXT NOT NULL CHECK (message_type IN ('text', 'image', 'file', 'voice', 'order', 'system', 'call')),
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
    -- A system message's event: {"event", "actor_id", "user_id"}.
    system_event TEXT,
    recalled_at BIGINT,
    created_at BIGINT NOT NULL
);
INSERT INTO messages_new (id, conversation_id, sender_id, message_type, content, client_msg_id,
    upload_id, file_name, file_size, mime, thumbnail_path, width, height, duration_ms,
    order_snapshot, created_at)
SELECT id, conversation_id, sender_id, message_type, content, client_msg_id,
    upload_id, file_name, file_size, mime, thumbnail_path, width, height, duration_ms,
    order_snapshot, created_at
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_sender ON messages (sender_id, id);
CREATE INDEX messages_type ON messages (message_type, id);
CREATE INDEX messages_created ON messages (created_at);
CREATE UNIQUE INDEX messages_client_msg_id ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;

-- The search index keeps its rows (the ids did not change). A recalled
-- message stays indexed (admins still find it); participants' searches
-- leave it out by `recalled_at`.
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
