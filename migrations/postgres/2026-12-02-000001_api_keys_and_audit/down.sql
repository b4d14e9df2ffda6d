DROP INDEX IF EXISTS audit_log_actor;
DROP TABLE audit_log;
DROP TABLE api_keys;
