-- Fast substring search over messages, any script (Chinese included).
--
-- pg_trgm's GIN indexes answer `ILIKE '%…%'` on a text message's content
-- and on any message's file name (other types keep a media path or an
-- order number in `content`, which is not something to find). ILIKE
-- always checks the text itself, so a query of any length matches (one
-- or two CJK characters included); the index narrows the candidates when
-- the query holds trigrams it can use.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_content_trgm ON messages USING gin (content gin_trgm_ops)
    WHERE message_type = 'text';
CREATE INDEX messages_file_name_trgm ON messages USING gin (file_name gin_trgm_ops);

-- Time ranges (the search's `since`/`until`, the dashboard's counts per
-- hour or day) read this index instead of scanning every message.
CREATE INDEX messages_created ON messages (created_at);
