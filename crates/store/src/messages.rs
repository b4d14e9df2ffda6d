//! Message queries: the send transaction, history pages and search.

use diesel::prelude::*;
use livechat_domain::messages::preview;
use livechat_domain::paging::{Order, Page};
use livechat_domain::{MessageType, Side};

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::{ConversationRow, MessageRow, NewMessage};
use crate::schema::{conversations, messages};
use crate::users::like_pattern;

/// What a send did.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// Stored now; the conversation as updated by it.
    Created {
        /// The stored message.
        message: MessageRow,
        /// The conversation after the update.
        conversation: ConversationRow,
    },
    /// A retry of a message stored earlier with the same `client_msg_id`.
    Replayed(MessageRow),
}

/// The message a sender stored earlier under `client_msg_id`.
pub fn by_client_msg_id(
    conn: &mut Conn,
    sender_id: &str,
    client_msg_id: &str,
) -> Result<Option<MessageRow>, StoreError> {
    Ok(messages::table
        .filter(messages::sender_id.eq(sender_id))
        .filter(messages::client_msg_id.eq(client_msg_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores a message and, in the same transaction, the conversation's
/// preview and the receiver's unread count. A retry with the same
/// `client_msg_id` and body answers the first message; the same id with a
/// different body is a conflict. Call inside a write transaction, with a
/// sender who takes part in the conversation on `sender_side`.
pub fn send(
    conn: &mut Conn,
    new: NewMessage,
    sender_side: Side,
) -> Result<SendOutcome, StoreError> {
    if let Some(cid) = &new.client_msg_id {
        if let Some(existing) = by_client_msg_id(conn, &new.sender_id, cid)? {
            let same = existing.conversation_id == new.conversation_id
                && existing.message_type == new.message_type
                && existing.content == new.content
                && existing.upload_id == new.upload_id;
            return if same {
                Ok(SendOutcome::Replayed(existing))
            } else {
                Err(StoreError::conflict(format!(
                    "client_msg_id `{cid}` was already used for a different message"
                )))
            };
        }
    }
    let kind = MessageType::parse(&new.message_type)?;
    let message = diesel::insert_into(messages::table)
        .values(&new)
        .returning(MessageRow::as_returning())
        .get_result(conn)?;
    let target = conversations::table.find(new.conversation_id);
    let common = (
        conversations::last_message.eq(preview(kind, &message.content)),
        conversations::last_message_type.eq(kind.as_str()),
        conversations::last_message_time.eq(message.created_at),
        conversations::last_message_id.eq(message.id),
        conversations::updated_at.eq(message.created_at),
    );
    // The receiver gets one more unread message; the sender has read
    // everything up to his own message.
    let conversation = match sender_side {
        Side::Customer => diesel::update(target)
            .set((
                common,
                conversations::merchant_unread_count.eq(conversations::merchant_unread_count + 1),
                conversations::customer_last_read_message_id.eq(message.id),
                conversations::customer_unread_count.eq(0),
            ))
            .returning(ConversationRow::as_returning())
            .get_result(conn)?,
        Side::Agent => diesel::update(target)
            .set((
                common,
                conversations::customer_unread_count.eq(conversations::customer_unread_count + 1),
                conversations::merchant_last_read_message_id.eq(message.id),
                conversations::merchant_unread_count.eq(0),
            ))
            .returning(ConversationRow::as_returning())
            .get_result(conn)?,
    };
    Ok(SendOutcome::Created {
        message,
        conversation,
    })
}

/// One message by id.
pub fn get(conn: &mut Conn, id: i64) -> Result<Option<MessageRow>, StoreError> {
    Ok(messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// A history request.
#[derive(Debug, Clone, Copy)]
pub struct HistoryQuery {
    /// Sort by id.
    pub order: Order,
    /// Only messages older than this id.
    pub before_id: Option<i64>,
    /// Only messages newer than this id.
    pub after_id: Option<i64>,
    /// The page.
    pub page: Page,
}

/// A page of a conversation's messages, with the total matching the cursors.
pub fn history(
    conn: &mut Conn,
    conversation_id: i64,
    query: HistoryQuery,
) -> Result<(i64, Vec<MessageRow>), StoreError> {
    let build = || {
        let mut q = messages::table
            .filter(messages::conversation_id.eq(conversation_id))
            .into_boxed();
        if let Some(before) = query.before_id {
            q = q.filter(messages::id.lt(before));
        }
        if let Some(after) = query.after_id {
            q = q.filter(messages::id.gt(after));
        }
        q
    };
    let count = build().count().get_result(conn)?;
    let q = build();
    let q = match query.order {
        Order::Asc => q.order(messages::id.asc()),
        Order::Desc => q.order(messages::id.desc()),
    };
    let rows = q
        .limit(query.page.page_size)
        .offset(query.page.offset())
        .select(MessageRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

/// Filters of a message search.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only messages of conversations this user takes part in.
    pub participant: Option<String>,
    /// Substring of the text (or of a file's name), any length.
    pub q: Option<String>,
    /// Only this type.
    pub message_type: Option<MessageType>,
    /// Only from this sender.
    pub sender_id: Option<String>,
    /// Only in this conversation.
    pub conversation_id: Option<i64>,
    /// Sent at or after (ms).
    pub since: Option<i64>,
    /// Sent before (ms).
    pub until: Option<i64>,
}

/// A page of matching messages, newest first, with the total.
pub fn search(
    conn: &mut Conn,
    filter: &MessageFilter,
    page: Page,
) -> Result<(i64, Vec<MessageRow>), StoreError> {
    let build = || {
        let mut q = messages::table.into_boxed();
        if let Some(me) = &filter.participant {
            let mine = conversations::table
                .filter(
                    conversations::customer_id
                        .eq(me.clone())
                        .or(conversations::merchant_id.eq(me.clone())),
                )
                .select(conversations::id);
            q = q.filter(messages::conversation_id.eq_any(mine));
        }
        if let Some(text) = filter.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = like_pattern(text);
            q = q.filter(
                messages::message_type
                    .eq("text")
                    .and(messages::content.like(pattern.clone()).escape('\\'))
                    .or(messages::file_name.like(pattern).escape('\\')),
            );
        }
        if let Some(t) = filter.message_type {
            q = q.filter(messages::message_type.eq(t.as_str()));
        }
        if let Some(s) = &filter.sender_id {
            q = q.filter(messages::sender_id.eq(s.clone()));
        }
        if let Some(c) = filter.conversation_id {
            q = q.filter(messages::conversation_id.eq(c));
        }
        if let Some(since) = filter.since {
            q = q.filter(messages::created_at.ge(since));
        }
        if let Some(until) = filter.until {
            q = q.filter(messages::created_at.lt(until));
        }
        q
    };
    let count = build().count().get_result(conn)?;
    let rows = build()
        .order(messages::id.desc())
        .limit(page.page_size)
        .offset(page.offset())
        .select(MessageRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

/// Every message in `[from, to)`, oldest first, as `(conversation_id, sender_id, created_at)`:
/// the raw material of the dashboard's figures.
pub fn timeline(
    conn: &mut Conn,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    Ok(messages::table
        .filter(messages::created_at.ge(from))
        .filter(messages::created_at.lt(to))
        .order(messages::id.asc())
        .select((
            messages::conversation_id,
            messages::sender_id,
            messages::created_at,
        ))
        .load(conn)?)
}

/// How many messages exist.
pub fn count_all(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(messages::table.count().get_result(conn)?)
}
