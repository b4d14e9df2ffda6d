DROP INDEX IF EXISTS messages_calls;
ALTER TABLE messages
    DROP COLUMN counts_unread,
    DROP COLUMN call_outcome,
    DROP COLUMN call_record;
