-- Groups, mediation and recall.
--
-- Participants become rows, one per member, holding what used to be the
-- two sides' columns on the conversation (read mark and unread count) plus
-- a role and the join point. A direct conversation keeps its customer and
-- agent ids (the unique pair); a group has none. Messages gain `system`
-- (membership changes) and `call` types, a recall time, and a system
-- event. Ids, counts and read marks are carried over unchanged.
ALTER TABLE conversations
    ADD COLUMN kind TEXT NOT NULL DEFAULT 'direct' CHECK (kind IN ('direct', 'group')),
    ADD COLUMN title TEXT,
    ADD COLUMN created_by TEXT REFERENCES users (id),
    ADD COLUMN mediates_conversation_id BIGINT REFERENCES conversations (id),
    ALTER COLUMN customer_id DROP NOT NULL,
    ALTER COLUMN merchant_id DROP NOT NULL,
    ADD CONSTRAINT conversations_direct_has_sides
        CHECK ((kind = 'direct') = (customer_id IS NOT NULL AND merchant_id IS NOT NULL));

CREATE TABLE participants (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'member')),
    last_read_message_id BIGINT NOT NULL DEFAULT 0,
    unread_count INTEGER NOT NULL DEFAULT 0,
    joined_at BIGINT NOT NULL,
    -- The member sees the messages with larger ids (those sent since he
    -- joined); 0 for the two sides of a direct conversation.
    visible_after_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
INSERT INTO participants (conversation_id, user_id, role, last_read_message_id, unread_count, joined_at)
SELECT id, customer_id, 'customer', customer_last_read_message_id, customer_unread_count, created_at
FROM conversations;
INSERT INTO participants (conversation_id, user_id, role, last_read_message_id, unread_count, joined_at)
SELECT id, merchant_id, 'agent', merchant_last_read_message_id, merchant_unread_count, created_at
FROM conversations;

DROP INDEX conversations_customer_activity;
DROP INDEX conversations_merchant_activity;
ALTER TABLE conversations
    DROP COLUMN customer_unread_count,
    DROP COLUMN merchant_unread_count,
    DROP COLUMN customer_last_read_message_id,
    DROP COLUMN merchant_last_read_message_id;
CREATE INDEX conversations_mediates ON conversations (mediates_conversation_id)
    WHERE mediates_conversation_id IS NOT NULL;
-- A user's conversations, and who is in one.
CREATE INDEX participants_user ON participants (user_id, conversation_id);

ALTER TABLE messages
    DROP CONSTRAINT messages_message_type_check,
    ADD CONSTRAINT messages_message_type_check
        CHECK (message_type IN ('text', 'image', 'file', 'voice', 'order', 'system', 'call')),
    -- A system message's event: {"event", "actor_id", "user_id"}.
    ADD COLUMN system_event TEXT,
    ADD COLUMN recalled_at BIGINT;
