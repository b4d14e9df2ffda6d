//! What the API answers: rows turned into wire objects with full URLs,
//! nested users and presence.

use std::collections::{HashMap, HashSet};

use livechat_domain::calls::Call;
use livechat_domain::groups::SystemEvent;
use livechat_domain::orders::OrderSnapshot;
use livechat_domain::ParticipantRole;
use livechat_store::models::{
    Conversation, MessageRow, OrderRow, QuickReplyRow, UploadRow, UserRow,
};
use livechat_store::{Conn, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::settings::HttpSettings;

/// A list answer: the total matching the filters and one page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    /// Everything that matches, not only this page.
    pub count: i64,
    /// This page.
    pub results: Vec<T>,
}

/// A page of a message search: like [`Paged`], with a count that a query
/// of one or two characters stops at 10,000.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPage<T> {
    /// Everything that matches, not only this page; for a `q` of one or two
    /// characters at most 10,000 (then `count_capped` is true).
    pub count: i64,
    /// True when there are more matches than `count` (only a `q` of one or
    /// two characters stops counting, at 10,000; the pages go on past it).
    pub count_capped: bool,
    /// This page.
    pub results: Vec<T>,
}

/// A user as the API shows him.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDto {
    pub id: String,
    pub username: String,
    /// buyer, merchant, platform or admin.
    pub role: &'static str,
    /// Full URL, or null.
    pub avatar: Option<String>,
    pub description: Option<String>,
    /// active or disabled.
    pub status: &'static str,
    pub is_online: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserDto {
    /// Builds the wire user.
    pub fn new(row: &UserRow, settings: &HttpSettings, online: bool) -> Self {
        Self {
            id: row.id.clone(),
            username: row.username.clone(),
            role: row.role.as_str(),
            avatar: row.avatar.as_deref().map(|a| settings.media_url(a)),
            description: row.description.clone(),
            status: row.status.as_str(),
            is_online: online,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// One member of a conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantDto {
    pub user_id: String,
    pub user: Option<UserDto>,
    /// customer or agent (direct), member (group).
    pub role: &'static str,
    pub last_read_message_id: i64,
    pub unread_count: i32,
    pub joined_at: i64,
}

/// A conversation as the API shows it: the seed's field names for a direct
/// conversation (null in a group), and members for every kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationDto {
    pub id: i64,
    /// direct or group.
    pub kind: &'static str,
    /// A group's title; null for a direct conversation.
    pub title: Option<String>,
    /// Who opened or created it (null for conversations older than groups).
    pub created_by: Option<String>,
    /// The direct conversation this group mediates, if it does.
    pub mediates_conversation_id: Option<i64>,
    /// Every member, in join order, with his read mark and unread count.
    pub participants: Vec<ParticipantDto>,
    pub customer_id: Option<String>,
    /// The agent side: a merchant, or platform support.
    pub merchant_id: Option<String>,
    pub customer: Option<UserDto>,
    pub merchant: Option<UserDto>,
    /// 0 in a group.
    pub customer_unread_count: i32,
    /// 0 in a group.
    pub merchant_unread_count: i32,
    pub customer_last_read_message_id: Option<i64>,
    pub merchant_last_read_message_id: Option<i64>,
    /// Preview: `[图片]`, `[文件]`, `[语音]`, `[订单]`, `[已撤回]` or the first 100 characters.
    pub last_message: Option<String>,
    /// A message type, or `recalled`.
    pub last_message_type: Option<String>,
    pub last_message_time: Option<i64>,
    pub last_message_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An order card's snapshot inside a message (the order as it was when sent).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct OrderCard {
    pub order_no: String,
    pub title: String,
    pub amount_cents: i64,
    pub product_count: i32,
    /// Full URL, or null.
    pub product_image: Option<String>,
    /// pending, paid, shipped, completed, cancelled or refunded.
    pub status: &'static str,
}

impl OrderCard {
    fn new(s: &OrderSnapshot, settings: &HttpSettings) -> Self {
        Self {
            order_no: s.order_no.clone(),
            title: s.title.clone(),
            amount_cents: s.amount_cents,
            product_count: s.product_count,
            product_image: s.product_image.as_deref().map(|p| settings.media_url(p)),
            status: s.status.as_str(),
        }
    }
}

/// A message as the API and the WebSocket show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: i64,
    pub conversation_id: i64,
    pub sender_id: String,
    pub sender: Option<UserDto>,
    /// Text, or the full URL of an image, file or voice note, or the order
    /// number; a system message's display text; empty once recalled (for
    /// participants).
    pub content: String,
    /// text, image, file, voice, order or system.
    pub message_type: &'static str,
    pub client_msg_id: Option<String>,
    pub created_at: i64,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub mime: Option<String>,
    pub thumbnail_url: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_ms: Option<i64>,
    pub order: Option<OrderCard>,
    /// A system message's membership change.
    pub system: Option<SystemEvent>,
    /// A call record's call (its outcome and duration).
    pub call: Option<Call>,
    /// Recalled by its sender: participants see no content; admins still do.
    pub recalled: bool,
    pub recalled_at: Option<i64>,
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderDto {
    pub order_no: String,
    pub buyer_id: String,
    pub merchant_id: String,
    pub title: String,
    pub amount_cents: i64,
    pub product_count: i32,
    /// Full URL, or null.
    pub product_image: Option<String>,
    /// pending, paid, shipped, completed, cancelled or refunded.
    pub status: &'static str,
    pub created_at: i64,
    pub updated_at: i64,
}

impl OrderDto {
    /// Builds the wire order.
    pub fn new(row: &OrderRow, settings: &HttpSettings) -> Self {
        Self {
            order_no: row.order_no.clone(),
            buyer_id: row.buyer_id.clone(),
            merchant_id: row.merchant_id.clone(),
            title: row.title.clone(),
            amount_cents: row.amount_cents,
            product_count: row.product_count,
            product_image: row.product_image.as_deref().map(|p| settings.media_url(p)),
            status: row.status.as_str(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A quick reply.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuickReplyDto {
    pub id: i64,
    pub user_id: String,
    pub content: String,
    pub position: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<QuickReplyRow> for QuickReplyDto {
    fn from(r: QuickReplyRow) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            content: r.content,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What an upload answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadDto {
    pub upload_id: String,
    pub url: String,
    pub file_name: String,
    pub file_size: i64,
    pub mime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
}

impl UploadDto {
    /// Builds the wire upload.
    pub fn new(row: &UploadRow, settings: &HttpSettings) -> Self {
        Self {
            upload_id: row.id.clone(),
            url: settings.media_url(&row.path),
            file_name: row.file_name.clone(),
            file_size: row.file_size,
            mime: row.mime.clone(),
            thumbnail_url: row.thumbnail_path.as_deref().map(|p| settings.media_url(p)),
            width: row.width,
            height: row.height,
            duration_ms: row.duration_ms,
        }
    }
}

/// Loads the users named by these ids, keyed by id.
pub fn users_by_id<'i>(
    conn: &mut Conn,
    ids: impl IntoIterator<Item = &'i String>,
) -> Result<HashMap<String, UserRow>, StoreError> {
    let wanted: Vec<String> = ids
        .into_iter()
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    Ok(livechat_store::users::get_many(conn, &wanted)?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect())
}

/// The members of a set of conversations.
pub fn conversation_users(
    conn: &mut Conn,
    conversations: &[Conversation],
) -> Result<HashMap<String, UserRow>, StoreError> {
    let ids: Vec<String> = conversations
        .iter()
        .flat_map(|c| c.participants.iter().map(|p| p.user_id.clone()))
        .collect();
    users_by_id(conn, &ids)
}

/// The senders of a set of messages.
pub fn message_users(
    conn: &mut Conn,
    rows: &[MessageRow],
) -> Result<HashMap<String, UserRow>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.sender_id.clone()).collect();
    users_by_id(conn, &ids)
}

/// Turns rows into wire objects, given the users they mention and who is
/// online. Messages render as participants see them (a recalled one
/// empty) unless the renderer is for an admin's audit view.
pub struct Renderer<'a> {
    settings: &'a HttpSettings,
    online: &'a HashSet<String>,
    users: &'a HashMap<String, UserRow>,
    audit: bool,
}

impl<'a> Renderer<'a> {
    /// A renderer over loaded users and a presence snapshot.
    pub fn new(
        settings: &'a HttpSettings,
        users: &'a HashMap<String, UserRow>,
        online: &'a HashSet<String>,
    ) -> Self {
        Self {
            settings,
            online,
            users,
            audit: false,
        }
    }

    /// Renders messages as an administrator sees them: recalled ones keep
    /// their content, marked.
    pub fn audit(mut self, audit: bool) -> Self {
        self.audit = audit;
        self
    }

    /// A loaded user as the wire shows him.
    pub fn user(&self, id: &str) -> Option<UserDto> {
        self.users
            .get(id)
            .map(|u| UserDto::new(u, self.settings, self.online.contains(id)))
    }

    /// Renders conversations.
    pub fn conversations(&self, conversations: &[Conversation]) -> Vec<ConversationDto> {
        conversations.iter().map(|c| self.conversation(c)).collect()
    }

    /// Renders one conversation.
    pub fn conversation(&self, c: &Conversation) -> ConversationDto {
        let r = &c.row;
        let side = |role: ParticipantRole| c.participants.iter().find(|p| p.role == role);
        let (customer, agent) = (
            side(ParticipantRole::Customer),
            side(ParticipantRole::Agent),
        );
        ConversationDto {
            id: r.id,
            kind: r.kind.as_str(),
            title: r.title.clone(),
            created_by: r.created_by.clone(),
            mediates_conversation_id: r.mediates_conversation_id,
            participants: c
                .participants
                .iter()
                .map(|p| ParticipantDto {
                    user_id: p.user_id.clone(),
                    user: self.user(&p.user_id),
                    role: p.role.as_str(),
                    last_read_message_id: p.last_read_message_id,
                    unread_count: p.unread_count,
                    joined_at: p.joined_at,
                })
                .collect(),
            customer_id: r.customer_id.clone(),
            merchant_id: r.merchant_id.clone(),
            customer: r.customer_id.as_deref().and_then(|id| self.user(id)),
            merchant: r.merchant_id.as_deref().and_then(|id| self.user(id)),
            customer_unread_count: customer.map_or(0, |p| p.unread_count),
            merchant_unread_count: agent.map_or(0, |p| p.unread_count),
            customer_last_read_message_id: customer.map(|p| p.last_read_message_id),
            merchant_last_read_message_id: agent.map(|p| p.last_read_message_id),
            last_message: r.last_message.clone(),
            last_message_type: r.last_message_type.clone(),
            last_message_time: r.last_message_time,
            last_message_id: r.last_message_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    /// Renders messages.
    pub fn messages(&self, rows: &[MessageRow]) -> Vec<MessageDto> {
        rows.iter().map(|r| self.message(r)).collect()
    }

    /// Renders one message.
    pub fn message(&self, r: &MessageRow) -> MessageDto {
        let recalled = r.recalled_at.is_some();
        if recalled && !self.audit {
            return MessageDto {
                id: r.id,
                conversation_id: r.conversation_id,
                sender_id: r.sender_id.clone(),
                sender: self.user(&r.sender_id),
                content: String::new(),
                message_type: r.message_type.as_str(),
                client_msg_id: r.client_msg_id.clone(),
                created_at: r.created_at,
                file_name: None,
                file_size: None,
                mime: None,
                thumbnail_url: None,
                width: None,
                height: None,
                duration_ms: None,
                order: None,
                system: None,
                call: None,
                recalled,
                recalled_at: r.recalled_at,
            };
        }
        let media = r.message_type.is_media();
        MessageDto {
            id: r.id,
            conversation_id: r.conversation_id,
            sender_id: r.sender_id.clone(),
            sender: self.user(&r.sender_id),
            content: if media {
                self.settings.media_url(&r.content)
            } else {
                r.content.clone()
            },
            message_type: r.message_type.as_str(),
            client_msg_id: r.client_msg_id.clone(),
            created_at: r.created_at,
            file_name: r.file_name.clone(),
            file_size: r.file_size,
            mime: r.mime.clone(),
            thumbnail_url: r
                .thumbnail_path
                .as_deref()
                .map(|p| self.settings.media_url(p)),
            width: r.width,
            height: r.height,
            duration_ms: r.duration_ms,
            order: r.order.as_ref().map(|o| OrderCard::new(o, self.settings)),
            system: r.system.clone(),
            call: r.call.clone(),
            recalled,
            recalled_at: r.recalled_at,
        }
    }
}
