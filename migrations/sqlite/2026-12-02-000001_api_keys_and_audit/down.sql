DROP INDEX audit_log_actor;
DROP TABLE audit_log;
DROP TABLE api_keys;
