//! Conversation queries: get-or-create by pair, lists, read marks.

use diesel::prelude::*;
use livechat_domain::conversations::next_read_mark;
use livechat_domain::paging::Page;
use livechat_domain::{now_ms, Side, Sides};

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::ConversationRow;
use crate::schema::{conversations, messages, users};
use crate::users::like_pattern;

/// One conversation by id.
pub fn get(conn: &mut Conn, id: i64) -> Result<Option<ConversationRow>, StoreError> {
    Ok(conversations::table
        .find(id)
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The conversation of a pair, if it exists.
pub fn by_sides(conn: &mut Conn, sides: &Sides) -> Result<Option<ConversationRow>, StoreError> {
    Ok(conversations::table
        .filter(conversations::customer_id.eq(&sides.customer_id))
        .filter(conversations::merchant_id.eq(&sides.agent_id))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

/// The pair's conversation, created when missing; `true` when created.
/// Call inside a write transaction so two openers cannot both create it.
pub fn get_or_create(
    conn: &mut Conn,
    sides: &Sides,
) -> Result<(ConversationRow, bool), StoreError> {
    if let Some(row) = by_sides(conn, sides)? {
        return Ok((row, false));
    }
    let now = now_ms();
    let row = diesel::insert_into(conversations::table)
        .values((
            conversations::customer_id.eq(&sides.customer_id),
            conversations::merchant_id.eq(&sides.agent_id),
            conversations::created_at.eq(now),
            conversations::updated_at.eq(now),
        ))
        .returning(ConversationRow::as_returning())
        .get_result(conn)?;
    Ok((row, true))
}

/// Filters of a conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Only conversations this user takes part in (a chat user's own list,
    /// or an admin's participant filter).
    pub participant: Option<String>,
    /// With `participant`: only those where he has unread messages;
    /// without: those where either side has.
    pub unread: bool,
    /// Substring of the other party's id or name (of either party's when no
    /// participant is set).
    pub q: Option<String>,
    /// Last activity at or after (ms).
    pub since: Option<i64>,
    /// Last activity before (ms).
    pub until: Option<i64>,
}

/// A page of conversations, most recent activity first, with the total.
pub fn list(
    conn: &mut Conn,
    filter: &ConversationFilter,
    page: Page,
) -> Result<(i64, Vec<ConversationRow>), StoreError> {
    let build = || {
        let mut q = conversations::table.into_boxed();
        let matching_users = filter
            .q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|text| {
                let pattern = like_pattern(text);
                users::table
                    .filter(
                        users::id
                            .like(pattern.clone())
                            .escape('\\')
                            .or(users::username.like(pattern).escape('\\')),
                    )
                    .select(users::id)
            });
        match &filter.participant {
            Some(me) => {
                let me = me.clone();
                if filter.unread {
                    q = q.filter(
                        conversations::customer_id
                            .eq(me.clone())
                            .and(conversations::customer_unread_count.gt(0))
                            .or(conversations::merchant_id
                                .eq(me.clone())
                                .and(conversations::merchant_unread_count.gt(0))),
                    );
                } else {
                    q = q.filter(
                        conversations::customer_id
                            .eq(me.clone())
                            .or(conversations::merchant_id.eq(me.clone())),
                    );
                }
                if let Some(others) = matching_users {
                    q = q.filter(
                        conversations::customer_id
                            .eq(me.clone())
                            .and(conversations::merchant_id.eq_any(others.clone()))
                            .or(conversations::merchant_id
                                .eq(me)
                                .and(conversations::customer_id.eq_any(others))),
                    );
                }
            }
            None => {
                if filter.unread {
                    q = q.filter(
                        conversations::customer_unread_count
                            .gt(0)
                            .or(conversations::merchant_unread_count.gt(0)),
                    );
                }
                if let Some(others) = matching_users {
                    q = q.filter(
                        conversations::customer_id
                            .eq_any(others.clone())
                            .or(conversations::merchant_id.eq_any(others)),
                    );
                }
            }
        }
        if let Some(since) = filter.since {
            q = q.filter(conversations::updated_at.ge(since));
        }
        if let Some(until) = filter.until {
            q = q.filter(conversations::updated_at.lt(until));
        }
        q
    };
    let count = build().count().get_result(conn)?;
    let rows = build()
        .order((
            conversations::last_message_id.desc(),
            conversations::id.desc(),
        ))
        .limit(page.page_size)
        .offset(page.offset())
        .select(ConversationRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

/// Moves `reader`'s read mark to `up_to` (the newest message when `None`),
/// never backwards, and recounts his unread messages exactly. Call inside a
/// write transaction.
pub fn mark_read(
    conn: &mut Conn,
    conversation: &ConversationRow,
    reader_side: Side,
    up_to: Option<i64>,
) -> Result<ConversationRow, StoreError> {
    let (current, reader_id) = match reader_side {
        Side::Customer => (
            conversation.customer_last_read_message_id,
            &conversation.customer_id,
        ),
        Side::Agent => (
            conversation.merchant_last_read_message_id,
            &conversation.merchant_id,
        ),
    };
    let newest: i64 = messages::table
        .filter(messages::conversation_id.eq(conversation.id))
        .select(diesel::dsl::max(messages::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    let mark = next_read_mark(current, up_to, newest);
    let unread: i64 = messages::table
        .filter(messages::conversation_id.eq(conversation.id))
        .filter(messages::sender_id.ne(reader_id))
        .filter(messages::id.gt(mark))
        .count()
        .get_result(conn)?;
    let unread = i32::try_from(unread).unwrap_or(i32::MAX);
    let target = conversations::table.find(conversation.id);
    let row = match reader_side {
        Side::Customer => diesel::update(target)
            .set((
                conversations::customer_last_read_message_id.eq(mark),
                conversations::customer_unread_count.eq(unread),
            ))
            .returning(ConversationRow::as_returning())
            .get_result(conn)?,
        Side::Agent => diesel::update(target)
            .set((
                conversations::merchant_last_read_message_id.eq(mark),
                conversations::merchant_unread_count.eq(unread),
            ))
            .returning(ConversationRow::as_returning())
            .get_result(conn)?,
    };
    Ok(row)
}
