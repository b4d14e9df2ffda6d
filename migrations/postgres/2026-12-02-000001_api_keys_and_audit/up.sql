-- API keys of the marketplace's servers, and the audit log.
--
-- A key is shown once (`lck_<id>_<secret>`); only the SHA-256 of its secret
-- is kept. Revoking sets `revoked_at`; the row stays for the audit log.
-- `created_by` is the administrator who made it, NULL from the command line.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    last_used_at BIGINT,
    revoked_at BIGINT
);

-- Who did what, when: every action of a key, and administrators' changes
-- to users, orders and keys. `actor_id` is the admin's user id or the
-- key's id (NULL: the command line); `details` is a JSON object.
CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('admin', 'key')),
    actor_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    details TEXT NOT NULL DEFAULT '{}',
    at BIGINT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_kind, actor_id, id);
