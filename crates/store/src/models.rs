//! Rows as stored, and their mapping to domain values.

use diesel::prelude::*;
use livechat_domain::orders::{Order, OrderSnapshot};
use livechat_domain::uploads::Upload;
use livechat_domain::{MessageType, OrderStatus, Role, Sides, UploadKind, UserStatus};

use crate::columns::{
    MessageTypeColumn, OrderStatusColumn, RoleColumn, SnapshotColumn, UploadKindColumn,
    UserStatusColumn,
};
use crate::schema::{conversations, messages, orders, quick_replies, uploads, users};

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    #[diesel(deserialize_as = RoleColumn, serialize_as = RoleColumn)]
    pub role: Role,
    pub avatar: Option<String>,
    pub description: Option<String>,
    #[diesel(deserialize_as = UserStatusColumn, serialize_as = UserStatusColumn)]
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserRow {
    /// Whether the user may act.
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
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
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: String,
    #[diesel(deserialize_as = MessageTypeColumn)]
    pub message_type: MessageType,
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
    #[diesel(column_name = order_snapshot, deserialize_as = SnapshotColumn)]
    pub order: Option<OrderSnapshot>,
    pub created_at: i64,
}

/// A message to insert (the id comes from the database); made only from a
/// domain draft, in `messages::send`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = messages)]
pub(crate) struct NewMessage {
    pub conversation_id: i64,
    pub sender_id: String,
    #[diesel(serialize_as = MessageTypeColumn)]
    pub message_type: MessageType,
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
    #[diesel(deserialize_as = OrderStatusColumn, serialize_as = OrderStatusColumn)]
    pub status: OrderStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

impl OrderRow {
    /// The row for an order, first seen at `created_at`.
    pub fn new(o: Order, created_at: i64, updated_at: i64) -> Self {
        Self {
            order_no: o.order_no,
            buyer_id: o.buyer_id,
            merchant_id: o.merchant_id,
            title: o.title,
            amount_cents: o.amount_cents,
            product_count: o.product_count,
            product_image: o.product_image,
            status: o.status,
            created_at,
            updated_at,
        }
    }
}

impl From<OrderRow> for Order {
    fn from(r: OrderRow) -> Self {
        Order {
            order_no: r.order_no,
            buyer_id: r.buyer_id,
            merchant_id: r.merchant_id,
            title: r.title,
            amount_cents: r.amount_cents,
            product_count: r.product_count,
            product_image: r.product_image,
            status: r.status,
        }
    }
}

/// An upload row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    pub id: String,
    pub user_id: String,
    #[diesel(deserialize_as = UploadKindColumn, serialize_as = UploadKindColumn)]
    pub kind: UploadKind,
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

impl From<UploadRow> for Upload {
    fn from(r: UploadRow) -> Self {
        Upload {
            id: r.id,
            owner_id: r.user_id,
            kind: r.kind,
            path: r.path,
            file_name: r.file_name,
            file_size: r.file_size,
            mime: r.mime,
            thumbnail_path: r.thumbnail_path,
            width: r.width,
            height: r.height,
            duration_ms: r.duration_ms,
        }
    }
}
