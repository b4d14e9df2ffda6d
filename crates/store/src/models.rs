//! Rows as stored, and their mapping to domain values.

use diesel::prelude::*;
use livechat_domain::groups::{Member, SystemEvent};
use livechat_domain::orders::{Order, OrderSnapshot};
use livechat_domain::uploads::Upload;
use livechat_domain::{
    ConversationKind, MessageType, OrderStatus, ParticipantRole, Role, Sides, UploadKind,
    UserStatus,
};

use livechat_domain::calls::Call;

use crate::columns::{
    CallColumn, ConversationKindColumn, MessageTypeColumn, OrderStatusColumn,
    ParticipantRoleColumn, RoleColumn, SnapshotColumn, SystemEventColumn, UploadKindColumn,
    UserStatusColumn,
};
use crate::schema::{conversations, messages, orders, participants, quick_replies, uploads, users};

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

/// A conversation row. A direct conversation has its two sides' ids; a
/// group has a title and none. Read marks and unread counts live on the
/// participants.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    pub id: i64,
    #[diesel(deserialize_as = ConversationKindColumn)]
    pub kind: ConversationKind,
    pub title: Option<String>,
    pub created_by: Option<String>,
    pub mediates_conversation_id: Option<i64>,
    pub customer_id: Option<String>,
    pub merchant_id: Option<String>,
    pub last_message: Option<String>,
    pub last_message_type: Option<String>,
    pub last_message_time: Option<i64>,
    pub last_message_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ConversationRow {
    /// A direct conversation's two sides (`None` for a group).
    pub fn sides(&self) -> Option<Sides> {
        match (&self.customer_id, &self.merchant_id) {
            (Some(c), Some(m)) => Some(Sides {
                customer_id: c.clone(),
                agent_id: m.clone(),
            }),
            _ => None,
        }
    }
}

/// One member of a conversation, with his own read mark and unread count.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = participants)]
pub struct ParticipantRow {
    pub conversation_id: i64,
    pub user_id: String,
    #[diesel(deserialize_as = ParticipantRoleColumn, serialize_as = ParticipantRoleColumn)]
    pub role: ParticipantRole,
    pub last_read_message_id: i64,
    pub unread_count: i32,
    pub joined_at: i64,
    /// He sees the messages with larger ids (those since he joined).
    pub visible_after_id: i64,
}

/// A conversation with its participants, in join order.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The conversation itself.
    pub row: ConversationRow,
    /// Its members.
    pub participants: Vec<ParticipantRow>,
}

impl Conversation {
    /// The conversation's id.
    pub fn id(&self) -> i64 {
        self.row.id
    }

    /// `user_id`'s membership, if he is a member.
    pub fn member(&self, user_id: &str) -> Option<&ParticipantRow> {
        self.participants.iter().find(|p| p.user_id == user_id)
    }

    /// Every member's id.
    pub fn member_ids(&self) -> Vec<String> {
        self.participants
            .iter()
            .map(|p| p.user_id.clone())
            .collect()
    }

    /// The members as the group rules see them, given their user rows.
    pub fn members(&self, users: &std::collections::HashMap<String, UserRow>) -> Vec<Member> {
        self.participants
            .iter()
            .filter_map(|p| {
                users.get(&p.user_id).map(|u| Member {
                    user_id: p.user_id.clone(),
                    role: u.role,
                    joined_at: p.joined_at,
                })
            })
            .collect()
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
    #[diesel(column_name = system_event, deserialize_as = SystemEventColumn)]
    pub system: Option<SystemEvent>,
    pub recalled_at: Option<i64>,
    #[diesel(column_name = call_record, deserialize_as = CallColumn)]
    pub call: Option<Call>,
    /// Whether it counts as unread for the other members.
    pub counts_unread: bool,
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
    pub system_event: Option<String>,
    pub call_record: Option<String>,
    pub call_outcome: Option<&'static str>,
    pub counts_unread: bool,
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

/// An API key as stored: its secret only as a SHA-256.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = crate::schema::api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    #[diesel(deserialize_as = crate::columns::ScopesColumn)]
    pub scopes: livechat_domain::api_keys::Scopes,
    pub secret_hash: String,
    pub created_at: i64,
    /// The administrator who made it; `None` from the command line.
    pub created_by: Option<String>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiKeyRow {
    /// Whether the key still works.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// One audit log entry.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = crate::schema::audit_log)]
pub struct AuditRow {
    pub id: i64,
    #[diesel(deserialize_as = crate::columns::ActorKindColumn)]
    pub actor_kind: livechat_domain::audit::ActorKind,
    /// The admin's user id or the key's id; `None`: the command line.
    pub actor_id: Option<String>,
    #[diesel(deserialize_as = crate::columns::AuditActionColumn)]
    pub action: livechat_domain::audit::AuditAction,
    pub target: Option<String>,
    /// A JSON object.
    pub details: String,
    pub at: i64,
}
