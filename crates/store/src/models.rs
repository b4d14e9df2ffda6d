//! Rows as stored, and their mapping to domain values.

use diesel::prelude::*;
use livechat_domain::{MessageType, Role, Sides, UserStatus};

use crate::schema::{conversations, messages, orders, quick_replies, uploads, users};

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub role: String,
    pub avatar: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserRow {
    /// The stored role (a row that fails the CHECK constraint cannot exist).
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Buyer)
    }

    /// Whether the user may act.
    pub fn is_active(&self) -> bool {
        UserStatus::parse(&self.status) == Ok(UserStatus::Active)
    }
}

/// A conversation row.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    pub id: i64,
    pub customer_id: String,
    pub merchant_id: String,
    pub last_message: Option<String>,
    pub last_message_type: Option<String>,
    pub last_message_time: Option<i64>,
    pub last_message_id: i64,
    pub customer_unread_count: i32,
    pub merchant_unread_count: i32,
    pub customer_last_read_message_id: i64,
    pub merchant_last_read_message_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ConversationRow {
    /// The participants.
    pub fn sides(&self) -> Sides {
        Sides {
            customer_id: self.customer_id.clone(),
            agent_id: self.merchant_id.clone(),
        }
    }
}

/// A message row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: String,
    pub message_type: String,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub upload_id: Option<String>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub mime: Option<String>,
    pub thumbnail_path: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i64>,
    pub order_snapshot: Option<String>,
    pub created_at: i64,
}

impl MessageRow {
    /// The stored type.
    pub fn kind(&self) -> MessageType {
        MessageType::parse(&self.message_type).unwrap_or(MessageType::Text)
    }
}

/// A message to insert (the id comes from the database).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage {
    pub conversation_id: i64,
    pub sender_id: String,
    pub message_type: String,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub upload_id: Option<String>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub mime: Option<String>,
    pub thumbnail_path: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i64>,
    pub order_snapshot: Option<String>,
    pub created_at: i64,
}

/// A quick reply row.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = quick_replies)]
pub struct QuickReplyRow {
    pub id: i64,
    pub user_id: String,
    pub content: String,
    pub position: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An order row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, PartialEq)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub order_no: String,
    pub buyer_id: String,
    pub merchant_id: String,
    pub title: String,
    pub amount_cents: i64,
    pub product_count: i32,
    pub product_image: Option<String>,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An upload row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub path: String,
    pub file_name: String,
    pub file_size: i64,
    pub mime: String,
    pub thumbnail_path: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
}
