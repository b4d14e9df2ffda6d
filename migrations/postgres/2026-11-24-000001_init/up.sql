CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('buyer', 'merchant', 'platform', 'admin')),
    avatar TEXT,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_role ON users (role, id);

CREATE TABLE conversations (
    id BIGSERIAL PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES users (id),
    merchant_id TEXT NOT NULL REFERENCES users (id),
    last_message TEXT,
    last_message_type TEXT,
    last_message_time BIGINT,
    last_message_id BIGINT NOT NULL DEFAULT 0,
    customer_unread_count INTEGER NOT NULL DEFAULT 0,
    merchant_unread_count INTEGER NOT NULL DEFAULT 0,
    customer_last_read_message_id BIGINT NOT NULL DEFAULT 0,
    merchant_last_read_message_id BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (customer_id, merchant_id)
);
-- Lists are ordered by last activity, which is the last message id (ids are
-- monotonic; timestamps alone are not a safe order), then by id.
CREATE INDEX conversations_customer_activity ON conversations (customer_id, last_message_id DESC, id DESC);
CREATE INDEX conversations_merchant_activity ON conversations (merchant_id, last_message_id DESC, id DESC);
CREATE INDEX conversations_activity ON conversations (last_message_id DESC, id DESC);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('image', 'file', 'voice')),
    path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_size BIGINT NOT NULL,
    mime TEXT NOT NULL,
    thumbnail_path TEXT,
    width INTEGER,
    height INTEGER,
    duration_ms BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, created_at);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    sender_id TEXT NOT NULL REFERENCES users (id),
    message_type TEXT NOT NULL CHECK (message_type IN ('text', 'image', 'file', 'voice', 'order')),
    content TEXT NOT NULL,
    client_msg_id TEXT,
    upload_id TEXT REFERENCES uploads (id),
    file_name TEXT,
    file_size BIGINT,
    mime TEXT,
    thumbnail_path TEXT,
    width INTEGER,
    height INTEGER,
    duration_ms BIGINT,
    order_snapshot TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_sender ON messages (sender_id, id);
CREATE INDEX messages_type ON messages (message_type, id);
CREATE UNIQUE INDEX messages_client_msg_id ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;

CREATE TABLE quick_replies (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    content TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX quick_replies_user ON quick_replies (user_id, position, id);

CREATE TABLE orders (
    order_no TEXT PRIMARY KEY NOT NULL,
    buyer_id TEXT NOT NULL REFERENCES users (id),
    merchant_id TEXT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    product_count INTEGER NOT NULL,
    product_image TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX orders_pair ON orders (buyer_id, merchant_id, created_at DESC);
