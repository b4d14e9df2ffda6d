-- Back to two sides on the conversation; groups and their messages go.
DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE kind = 'group');
DELETE FROM participants WHERE conversation_id IN (SELECT id FROM conversations WHERE kind = 'group');
UPDATE conversations SET mediates_conversation_id = NULL;
DELETE FROM conversations WHERE kind = 'group';

ALTER TABLE conversations
    ADD COLUMN customer_unread_count INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN merchant_unread_count INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN customer_last_read_message_id BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN merchant_last_read_message_id BIGINT NOT NULL DEFAULT 0;
UPDATE conversations c SET customer_unread_count = p.unread_count,
    customer_last_read_message_id = p.last_read_message_id
FROM participants p WHERE p.conversation_id = c.id AND p.role = 'customer';
UPDATE conversations c SET merchant_unread_count = p.unread_count,
    merchant_last_read_message_id = p.last_read_message_id
FROM participants p WHERE p.conversation_id = c.id AND p.role = 'agent';
DROP TABLE participants;
DROP INDEX IF EXISTS conversations_mediates;
ALTER TABLE conversations
    DROP CONSTRAINT conversations_direct_has_sides,
    DROP COLUMN kind,
    DROP COLUMN title,
    DROP COLUMN created_by,
    DROP COLUMN mediates_conversation_id,
    ALTER COLUMN customer_id SET NOT NULL,
    ALTER COLUMN merchant_id SET NOT NULL;
CREATE INDEX conversations_customer_activity ON conversations (customer_id, last_message_id DESC, id DESC);
CREATE INDEX conversations_merchant_activity ON conversations (merchant_id, last_message_id DESC, id DESC);

DELETE FROM messages WHERE message_type IN ('system', 'call');
ALTER TABLE messages
    DROP COLUMN system_event,
    DROP COLUMN recalled_at,
    DROP CONSTRAINT messages_message_type_check,
    ADD CONSTRAINT messages_message_type_check
        CHECK (message_type IN ('text', 'image', 'file', 'voice', 'order'));
