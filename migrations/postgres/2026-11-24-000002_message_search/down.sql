DROP INDEX IF EXISTS messages_created;
DROP INDEX IF EXISTS messages_file_name_trgm;
DROP INDEX IF EXISTS messages_content_trgm;
