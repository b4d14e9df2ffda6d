-- Search without scanning at any query length.
--
-- pg_trgm's GIN indexes cannot narrow a query of one or two characters
-- (it holds no trigram). `message_grams` holds, per message, its distinct
-- case-folded grams of one and two characters (of a text message's
-- content and any message's file name) under a GIN index; the store's
-- indexer (crates/store/src/search_index.rs) fills it in batches right
-- after the writes that stored the messages commit, from the id in
-- `search_index_state` on (so it backfills existing messages, resuming
-- after a restart, on whichever node gets there first).
CREATE TABLE search_index_state (
    name TEXT PRIMARY KEY,
    indexed_up_to BIGINT NOT NULL
);
INSERT INTO search_index_state (name, indexed_up_to) VALUES ('grams', 0);

CREATE TABLE message_grams (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    grams TEXT[] NOT NULL
);
CREATE INDEX message_grams_grams ON message_grams USING gin (grams);

-- Messages whose text changed after they were indexed (none today): the
-- indexer indexes their grams again.
CREATE TABLE search_reindex (
    message_id BIGINT PRIMARY KEY
);
CREATE FUNCTION search_reindex_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM message_grams WHERE message_id = OLD.id;
    IF OLD.id <= (SELECT indexed_up_to FROM search_index_state WHERE name = 'grams') THEN
        INSERT INTO search_reindex (message_id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER messages_grams_update AFTER UPDATE OF message_type, content, file_name ON messages
FOR EACH ROW EXECUTE FUNCTION search_reindex_message();
