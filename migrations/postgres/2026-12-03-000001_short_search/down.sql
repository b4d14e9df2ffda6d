DROP TRIGGER IF EXISTS messages_grams_update ON messages;
DROP FUNCTION IF EXISTS search_reindex_message();
DROP TABLE IF EXISTS search_reindex;
DROP TABLE IF EXISTS message_grams;
DROP TABLE IF EXISTS search_index_state;
