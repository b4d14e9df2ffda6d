DROP INDEX messages_calls;
ALTER TABLE messages DROP COLUMN counts_unread;
ALTER TABLE messages DROP COLUMN call_outcome;
ALTER TABLE messages DROP COLUMN call_record;
