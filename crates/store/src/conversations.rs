//! Conversation queries: direct conversations by pair, groups and their
//! members, lists, read marks.

use std::collections::HashMap;

use diesel::prelude::*;
use livechat_domain::conversations::next_read_mark;
use livechat_domain::paging::Page;
use livechat_domain::{ConversationKind, ParticipantRole, Sides};

use crate::columns::ConversationKindColumn;
use crate::db::{Conn, MultiBackend};
use crate::error::StoreError;
use crate::models::{Conversation, ConversationRow, ParticipantRow};
use crate::schema::{conversations, messages, participants, users};
use crate::users::{like_pattern, lower, lower_nullable};

/// One conversation by id.
pub fn get(conn: &mut Conn, id: i64) -> Result<Option<ConversationRow>, StoreError> {
    Ok(conversations::table
        .find(id)
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

/// One conversation with its participants.
pub fn load(conn: &mut Conn, id: i64) -> Result<Option<Conversation>, StoreError> {
    match get(conn, id)? {
        Some(row) => Ok(with_participants(conn, vec![row])?.pop()),
        None => Ok(None),
    }
}

/// Conversations with their participants (one query for all), in order.
pub fn with_participants(
    conn: &mut Conn,
    rows: Vec<ConversationRow>,
) -> Result<Vec<Conversation>, StoreError> {
    let order = (participants::joined_at.asc(), participants::user_id.asc());
    // One conversation (every send, every open) asks with `=`: that
    // statement is prepared once per connection, where an `IN` list of
    // any length is compiled again each time.
    let found = match rows.as_slice() {
        [one] => participants::table
            .filter(participants::conversation_id.eq(one.id))
            .order(order)
            .select(ParticipantRow::as_select())
            .load(conn)?,
        _ => {
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            participants::table
                .filter(participants::conversation_id.eq_any(&ids))
                .order(order)
                .select(ParticipantRow::as_select())
                .load(conn)?
        }
    };
    let mut by_conversation: HashMap<i64, Vec<ParticipantRow>> = HashMap::new();
    for p in found {
        by_conversation
            .entry(p.conversation_id)
            .or_default()
            .push(p);
    }
    Ok(rows
        .into_iter()
        .map(|row| Conversation {
            participants: by_conversation.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// The direct conversation of a pair, if it exists.
pub fn by_sides(conn: &mut Conn, sides: &Sides) -> Result<Option<ConversationRow>, StoreError> {
    Ok(conversations::table
        .filter(conversations::customer_id.eq(&sides.customer_id))
        .filter(conversations::merchant_id.eq(&sides.agent_id))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

fn join(
    conn: &mut Conn,
    conversation_id: i64,
    user_id: &str,
    role: ParticipantRole,
    now: i64,
    visible_after_id: i64,
) -> Result<(), StoreError> {
    diesel::insert_into(participants::table)
        .values(ParticipantRow {
            conversation_id,
            user_id: user_id.to_string(),
            role,
            last_read_message_id: visible_after_id,
            unread_count: 0,
            joined_at: now,
            visible_after_id,
        })
        .execute(conn)
        .map_err(|e| {
            // Two adds of the same member at once (the caller's check saw
            // neither).
            if crate::error::is_unique_violation(&e) {
                StoreError::taken(
                    "user_id",
                    format!("`{user_id}` is already in this conversation"),
                )
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// The pair's direct conversation, created (by `opener_id`) when missing;
/// `true` when created (with the webhooks' `conversation.created`). Call
/// inside a write transaction so two openers cannot both create it.
pub fn get_or_create(
    conn: &mut Conn,
    sides: &Sides,
    opener_id: &str,
    now: i64,
) -> Result<(Conversation, bool), StoreError> {
    if let Some(row) = by_sides(conn, sides)? {
        return Ok((loaded(conn, row.id)?, false));
    }
    // On PostgreSQL two openers may both get here: the lock lets the
    // second one find the first one's conversation instead of failing on
    // the unique pair.
    if conn.is_pg() {
        crate::db::lock_message_order(conn)?;
        if let Some(row) = by_sides(conn, sides)? {
            return Ok((loaded(conn, row.id)?, false));
        }
    }
    let row: ConversationRow = diesel::insert_into(conversations::table)
        .values((
            conversations::kind.eq(ConversationKindColumn(ConversationKind::Direct)),
            conversations::created_by.eq(opener_id),
            conversations::customer_id.eq(&sides.customer_id),
            conversations::merchant_id.eq(&sides.agent_id),
            conversations::created_at.eq(now),
            conversations::updated_at.eq(now),
        ))
        .returning(conversations::all_columns)
        .get_result(conn)?;
    join(
        conn,
        row.id,
        &sides.customer_id,
        ParticipantRole::Customer,
        now,
        0,
    )?;
    join(
        conn,
        row.id,
        &sides.agent_id,
        ParticipantRole::Agent,
        now,
        0,
    )?;
    crate::webhooks::enqueue(
        conn,
        livechat_domain::webhooks::EventType::ConversationCreated,
        Some(row.id),
        now,
    )?;
    Ok((loaded(conn, row.id)?, true))
}

/// A conversation that must exist (just written in this transaction).
fn loaded(conn: &mut Conn, id: i64) -> Result<Conversation, StoreError> {
    load(conn, id)?.ok_or_else(|| StoreError::Task(format!("conversation {id} vanished")))
}

/// A new group.
#[derive(Debug, Clone)]
pub struct NewGroup {
    /// Its title, checked.
    pub title: String,
    /// Who creates it (a member too).
    pub created_by: String,
    /// The other members.
    pub member_ids: Vec<String>,
    /// The direct conversation it mediates, if any.
    pub mediates_conversation_id: Option<i64>,
}

/// Creates a group with its creator and members (and the webhooks'
/// `conversation.created`). Call inside a write transaction.
pub fn create_group(
    conn: &mut Conn,
    group: &NewGroup,
    now: i64,
) -> Result<Conversation, StoreError> {
    let row: ConversationRow = diesel::insert_into(conversations::table)
        .values((
            conversations::kind.eq(ConversationKindColumn(ConversationKind::Group)),
            conversations::title.eq(&group.title),
            conversations::created_by.eq(&group.created_by),
            conversations::mediates_conversation_id.eq(group.mediates_conversation_id),
            conversations::created_at.eq(now),
            conversations::updated_at.eq(now),
        ))
        .returning(conversations::all_columns)
        .get_result(conn)?;
    join(
        conn,
        row.id,
        &group.created_by,
        ParticipantRole::Member,
        now,
        0,
    )?;
    for member in &group.member_ids {
        join(conn, row.id, member, ParticipantRole::Member, now, 0)?;
    }
    crate::webhooks::enqueue(
        conn,
        livechat_domain::webhooks::EventType::ConversationCreated,
        Some(row.id),
        now,
    )?;
    loaded(conn, row.id)
}

/// Adds `user_id` to a group; he sees the messages from now on. A member
/// already in is a conflict. Call inside a write transaction.
pub fn add_member(
    conn: &mut Conn,
    conversation: &Conversation,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    if conversation.member(user_id).is_some() {
        return Err(StoreError::taken(
            "user_id",
            format!("`{user_id}` is already in this conversation"),
        ));
    }
    // No message may slip in between the join point and the join.
    crate::db::lock_message_order(conn)?;
    let visible_after = conversation.row.last_message_id;
    join(
        conn,
        conversation.id(),
        user_id,
        ParticipantRole::Member,
        now,
        visible_after,
    )
}

/// Takes `user_id` out of a conversation.
pub fn remove_member(
    conn: &mut Conn,
    conversation_id: i64,
    user_id: &str,
) -> Result<(), StoreError> {
    // Taken before the row's lock, in the order a send takes them (the
    // lock, then the members' rows), so a removal followed by its record
    // cannot deadlock with a send.
    crate::db::lock_message_order(conn)?;
    diesel::delete(participants::table.find((conversation_id, user_id))).execute(conn)?;
    Ok(())
}

/// The group that mediates `direct_id`, if one was made.
pub fn mediation_of(
    conn: &mut Conn,
    direct_id: i64,
) -> Result<Option<ConversationRow>, StoreError> {
    Ok(conversations::table
        .filter(conversations::mediates_conversation_id.eq(direct_id))
        .order(conversations::id.asc())
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether `user_id` is a member of a group that mediates `direct_id`.
pub fn mediates_for(conn: &mut Conn, direct_id: i64, user_id: &str) -> Result<bool, StoreError> {
    let groups = conversations::table
        .filter(conversations::mediates_conversation_id.eq(direct_id))
        .select(conversations::id);
    let n: i64 = participants::table
        .filter(participants::conversation_id.eq_any(groups))
        .filter(participants::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Filters of a conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Only conversations this user takes part in (a chat user's own list,
    /// or an admin's participant filter).
    pub participant: Option<String>,
    /// With `participant`: only those where he has unread messages;
    /// without: those where any member has.
    pub unread: bool,
    /// Substring of another member's id or name, or of a group's title (of
    /// any member's when no participant is set).
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
) -> Result<(i64, Vec<Conversation>), StoreError> {
    let build = || {
        let mut q = conversations::table.into_boxed::<MultiBackend>();
        // Subqueries stay unboxed: a boxed one cannot be written for both
        // backends.
        if let Some(me) = &filter.participant {
            let mine = participants::table.filter(participants::user_id.eq(me.clone()));
            q = if filter.unread {
                q.filter(
                    conversations::id.eq_any(
                        mine.filter(participants::unread_count.gt(0))
                            .select(participants::conversation_id),
                    ),
                )
            } else {
                q.filter(conversations::id.eq_any(mine.select(participants::conversation_id)))
            };
        } else if filter.unread {
            let unread = participants::table
                .filter(participants::unread_count.gt(0))
                .select(participants::conversation_id);
            q = q.filter(conversations::id.eq_any(unread));
        }
        if let Some(text) = filter.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = like_pattern(text);
            let people = users::table
                .filter(
                    lower(users::id)
                        .like(lower(pattern.clone()))
                        .escape('\\')
                        .or(lower(users::username)
                            .like(lower(pattern.clone()))
                            .escape('\\')),
                )
                .select(users::id);
            let with_people = participants::table.filter(participants::user_id.eq_any(people));
            let titled = lower_nullable(conversations::title)
                .like(lower_nullable(Some(pattern)))
                .escape('\\');
            q = match &filter.participant {
                Some(me) => q.filter(
                    conversations::id
                        .eq_any(
                            with_people
                                .filter(participants::user_id.ne(me.clone()))
                                .select(participants::conversation_id),
                        )
                        .or(titled),
                ),
                None => q.filter(
                    conversations::id
                        .eq_any(with_people.select(participants::conversation_id))
                        .or(titled),
                ),
            };
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
    Ok((count, with_participants(conn, rows)?))
}

/// Moves `reader_id`'s read mark to `up_to` (the newest message when
/// `None`), never backwards, and recounts his unread messages exactly
/// (others' messages since he joined that count as unread, recalled ones
/// aside). Call inside a write transaction, for a member.
pub fn mark_read(
    conn: &mut Conn,
    conversation: &Conversation,
    reader_id: &str,
    up_to: Option<i64>,
) -> Result<Conversation, StoreError> {
    let member = conversation
        .member(reader_id)
        .ok_or_else(|| StoreError::not_found(format!("no conversation {}", conversation.id())))?;
    // The recount must not miss a send committing meanwhile.
    crate::db::lock_message_order(conn)?;
    let newest: i64 = messages::table
        .filter(messages::conversation_id.eq(conversation.id()))
        .select(diesel::dsl::max(messages::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0);
    let mark = next_read_mark(member.last_read_message_id, up_to, newest);
    let unread = unread_after(
        conn,
        conversation.id(),
        reader_id,
        mark.max(member.visible_after_id),
    )?;
    diesel::update(participants::table.find((conversation.id(), reader_id)))
        .set((
            participants::last_read_message_id.eq(mark),
            participants::unread_count.eq(unread),
        ))
        .execute(conn)?;
    loaded(conn, conversation.id())
}

/// How many messages after `after_id` count as unread for `reader_id`.
pub(crate) fn unread_after(
    conn: &mut Conn,
    conversation_id: i64,
    reader_id: &str,
    after_id: i64,
) -> Result<i32, StoreError> {
    let n: i64 = messages::table
        .filter(messages::conversation_id.eq(conversation_id))
        .filter(messages::sender_id.ne(reader_id))
        .filter(messages::id.gt(after_id))
        .filter(messages::counts_unread.eq(true))
        .filter(messages::recalled_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    use diesel_migrations::MigrationHarness;

    use crate::db::{MIGRATIONS, PG_MIGRATIONS};
    use crate::Db;

    crate::on_both_backends! {
    /// A database made by the schema before groups (two sides on the
    /// conversation) comes through the migration with every count, read
    /// mark and message as it was, the search index included.
    fn the_migration_to_participants_keeps_counts_and_read_marks(backend) {
        let guard = crate::testing::TestDatabase::new(backend);
        let url = guard.url();
        {
            let mut c = match crate::db::Target::parse(&url).unwrap() {
                crate::db::Target::Sqlite(path) => {
                    let mut c = diesel::SqliteConnection::establish(&path).unwrap();
                    c.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
                    c.run_next_migration(MIGRATIONS).unwrap();
                    c.run_next_migration(MIGRATIONS).unwrap();
                    crate::Conn::Sqlite(c)
                }
                crate::db::Target::Pg(url) => {
                    let mut c = diesel::PgConnection::establish(&url).unwrap();
                    c.run_next_migration(PG_MIGRATIONS).unwrap();
                    c.run_next_migration(PG_MIGRATIONS).unwrap();
                    crate::Conn::Pg(c)
                }
            };
            crate::demo::seed(&mut c).unwrap();
            c.batch_execute(
                "INSERT INTO conversations (id, customer_id, merchant_id, last_message, last_message_type,
                     last_message_time, last_message_id, customer_unread_count, merchant_unread_count,
                     customer_last_read_message_id, merchant_last_read_message_id, created_at, updated_at)
                 VALUES (1, 'b1', 'm1', '还在吗', 'text', 30, 3, 0, 2, 3, 1, 10, 30),
                        (2, 'm2', 'p1', '[图片]', 'image', 40, 4, 1, 0, 0, 4, 20, 40);
                 INSERT INTO messages (id, conversation_id, sender_id, message_type, content, created_at)
                 VALUES (1, 1, 'm1', 'text', '您好，有货', 10),
                        (2, 1, 'b1', 'text', '什么时候发货', 20),
                        (3, 1, 'b1', 'text', '还在吗', 30),
                        (4, 2, 'p1', 'image', '/media/x.png', 40);",
            )
            .unwrap();
        }
        let db = Db::open(&url, 1).unwrap();
        db.read_blocking(|c| {
            let one = crate::conversations::load(c, 1)?.unwrap();
            let marks: Vec<(String, &str, i64, i32)> = one
                .participants
                .iter()
                .map(|p| {
                    (
                        p.user_id.clone(),
                        p.role.as_str(),
                        p.last_read_message_id,
                        p.unread_count,
                    )
                })
                .collect();
            assert_eq!(
                marks,
                vec![
                    ("b1".to_string(), "customer", 3, 0),
                    ("m1".to_string(), "agent", 1, 2)
                ]
            );
            assert_eq!(one.row.kind, livechat_domain::ConversationKind::Direct);
            assert_eq!(
                (
                    one.row.customer_id.as_deref(),
                    one.row.merchant_id.as_deref()
                ),
                (Some("b1"), Some("m1"))
            );
            assert_eq!(
                (one.row.last_message.as_deref(), one.row.last_message_id),
                (Some("还在吗"), 3)
            );
            let two = crate::conversations::load(c, 2)?.unwrap();
            assert_eq!(two.member("m2").unwrap().unread_count, 1);
            assert_eq!(two.member("p1").unwrap().last_read_message_id, 4);
            let m = crate::messages::get(c, 4)?.unwrap();
            assert_eq!((m.content.as_str(), m.recalled_at), ("/media/x.png", None));
            let filter = crate::messages::MessageFilter {
                q: Some("什么时候".into()),
                ..Default::default()
            };
            let page = livechat_domain::paging::Page::new(None, None, 10).unwrap();
            let found = crate::messages::search(c, &filter, page)?;
            assert_eq!(
                (found.count, found.rows[0].id),
                (1, 2),
                "the search index kept its rows"
            );
            assert_eq!(crate::users::contacts(c, "b1")?, vec!["m1".to_string()]);
            Ok(())
        })
        .unwrap();
        // New ids continue after the old ones.
        let conv = db.write_blocking(crate::b1_m1).unwrap();
        assert_eq!(conv.id, 1, "the pair keeps its conversation");
    }
    }
}
