//! Quick reply queries.

use diesel::prelude::*;
use livechat_domain::now_ms;
use livechat_domain::quick_replies::check_room_for_another;

use crate::db::Conn;
use crate::error::StoreError;
use crate::models::QuickReplyRow;
use crate::schema::quick_replies;

/// A user's quick replies in order.
pub fn list(conn: &mut Conn, user_id: &str) -> Result<Vec<QuickReplyRow>, StoreError> {
    Ok(quick_replies::table
        .filter(quick_replies::user_id.eq(user_id))
        .order((quick_replies::position.asc(), quick_replies::id.asc()))
        .select(QuickReplyRow::as_select())
        .load(conn)?)
}

/// One quick reply by id.
pub fn get(conn: &mut Conn, id: i64) -> Result<Option<QuickReplyRow>, StoreError> {
    Ok(quick_replies::table
        .find(id)
        .select(QuickReplyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Appends a quick reply; the 11th is a conflict. Call inside a write transaction.
pub fn create(conn: &mut Conn, user_id: &str, content: &str) -> Result<QuickReplyRow, StoreError> {
    let existing = list(conn, user_id)?;
    check_room_for_another(existing.len() as i64)?;
    let now = now_ms();
    let position = existing.last().map(|r| r.position + 1).unwrap_or(0);
    Ok(diesel::insert_into(quick_replies::table)
        .values((
            quick_replies::user_id.eq(user_id),
            quick_replies::content.eq(content),
            quick_replies::position.eq(position),
            quick_replies::created_at.eq(now),
            quick_replies::updated_at.eq(now),
        ))
        .returning(quick_replies::all_columns)
        .get_result(conn)?)
}

/// Changes a reply's text and/or moves it to `position` (0-based, clamped),
/// renumbering the others. Call inside a write transaction.
pub fn update(
    conn: &mut Conn,
    reply: &QuickReplyRow,
    content: Option<&str>,
    position: Option<i64>,
) -> Result<QuickReplyRow, StoreError> {
    let now = now_ms();
    if let Some(text) = content {
        diesel::update(quick_replies::table.find(reply.id))
            .set((
                quick_replies::content.eq(text),
                quick_replies::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    if let Some(pos) = position {
        let mut ids: Vec<i64> = list(conn, &reply.user_id)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        ids.retain(|id| *id != reply.id);
        let at = usize::try_from(pos.max(0)).unwrap_or(0).min(ids.len());
        ids.insert(at, reply.id);
        renumber(conn, &ids)?;
    }
    get(conn, reply.id)?.ok_or_else(|| StoreError::not_found("quick reply vanished"))
}

/// Deletes a reply and closes the gap. Call inside a write transaction.
pub fn delete(conn: &mut Conn, reply: &QuickReplyRow) -> Result<(), StoreError> {
    diesel::delete(quick_replies::table.find(reply.id)).execute(conn)?;
    let ids: Vec<i64> = list(conn, &reply.user_id)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    renumber(conn, &ids)
}

fn renumber(conn: &mut Conn, ids: &[i64]) -> Result<(), StoreError> {
    for (i, id) in ids.iter().enumerate() {
        diesel::update(quick_replies::table.find(id))
            .set(quick_replies::position.eq(i as i32))
            .execute(conn)?;
    }
    Ok(())
}
