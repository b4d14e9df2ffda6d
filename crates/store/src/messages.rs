//! Message queries: the send transaction, history pages and search.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use livechat_domain::messages::{MessageDraft, RECALLED_PREVIEW, RECALLED_TYPE};
use livechat_domain::paging::{Order, Page};
use livechat_domain::webhooks::EventType;
use livechat_domain::MessageType;

use crate::columns::to_json;
use crate::db::Conn;
use crate::db::MultiBackend;
use crate::error::{is_unique_violation, StoreError};
use crate::models::{Conversation, MessageRow, NewMessage};
use crate::schema::{conversations, messages, participants};
use crate::users::like_pattern;

/// A message row's columns in [`MessageRow`]'s order, for RETURNING
/// clauses (which take plain columns on a connection of either backend):
/// written once, used as the type and as the value.
macro_rules! message_columns {
    () => {
        (
            messages::id,
            messages::conversation_id,
            messages::sender_id,
            messages::message_type,
            messages::content,
            messages::client_msg_id,
            messages::upload_id,
            messages::file_name,
            messages::file_size,
            messages::mime,
            messages::thumbnail_path,
            messages::width,
            messages::height,
            messages::duration_ms,
            messages::order_snapshot,
            messages::system_event,
            messages::recalled_at,
            messages::call_record,
            messages::counts_unread,
            messages::created_at,
        )
    };
}
type MessageColumns = message_columns!();
const MESSAGE_COLUMNS: MessageColumns = message_columns!();

/// What a send did.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// Stored now; the conversation as updated by it.
    Created {
        /// The stored message.
        message: MessageRow,
        /// The conversation after the update.
        conversation: Box<Conversation>,
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

impl NewMessage {
    fn from_draft(d: &MessageDraft) -> Result<Self, StoreError> {
        let upload = d.upload.as_ref();
        Ok(Self {
            conversation_id: d.conversation_id,
            sender_id: d.sender_id.clone(),
            message_type: d.kind,
            content: d.content.clone(),
            client_msg_id: d.client_msg_id.clone(),
            upload_id: upload.map(|u| u.id.clone()),
            file_name: upload.map(|u| u.file_name.clone()),
            file_size: upload.map(|u| u.file_size),
            mime: upload.map(|u| u.mime.clone()),
            thumbnail_path: upload.and_then(|u| u.thumbnail_path.clone()),
            width: upload.and_then(|u| u.width),
            height: upload.and_then(|u| u.height),
            duration_ms: upload.and_then(|u| u.duration_ms),
            order_snapshot: d.order.as_ref().map(to_json).transpose()?,
            system_event: d.system.as_ref().map(to_json).transpose()?,
            call_record: d.call.as_ref().map(to_json).transpose()?,
            call_outcome: d.call.as_ref().and_then(|c| c.outcome).map(|o| o.as_str()),
            counts_unread: d.counts_unread(),
            created_at: d.created_at,
        })
    }
}

/// Stores a message and, in the same transaction, the conversation's
/// preview, every other member's unread count (system messages are
/// never unread) and the webhooks' `message.created` (and, for a call
/// record, `call.ended`) deliveries. The sender has read everything up to his own message. A
/// retry with the same `client_msg_id` and body answers the first message;
/// the same id with a different body is a conflict. A sender who is not (or
/// no longer) a member is refused with "not found", and nothing is stored.
/// Call inside a write transaction (the refusal rolls the insert back).
pub fn send(conn: &mut Conn, draft: &MessageDraft) -> Result<SendOutcome, StoreError> {
    // On PostgreSQL, ids must become visible in the order they are given
    // out, and a concurrent retry must see the first message: both need
    // this lock, held until the commit (see `lock_message_order`).
    crate::db::lock_message_order(conn)?;
    if let Some(cid) = &draft.client_msg_id {
        if let Some(existing) = by_client_msg_id(conn, &draft.sender_id, cid)? {
            return replay(draft, cid, existing);
        }
    }
    let kind = draft.kind;
    let new = NewMessage::from_draft(draft)?;
    let insert = |c: &mut Conn| {
        diesel::insert_into(messages::table)
            .values(new)
            .returning(MESSAGE_COLUMNS)
            .get_result(c)
    };
    // On PostgreSQL a failed statement spoils the whole transaction, so
    // the insert runs in a savepoint: should the unique index on
    // (sender_id, client_msg_id) refuse it anyway (another writer that
    // does not take the lock), the retry is answered with the first
    // message instead of an error.
    let inserted = if conn.is_pg() {
        conn.transaction(insert)
    } else {
        insert(conn)
    };
    let message: MessageRow = match (inserted, &draft.client_msg_id) {
        (Ok(message), _) => message,
        (Err(e), Some(cid)) if is_unique_violation(&e) => {
            let existing = by_client_msg_id(conn, &draft.sender_id, cid)?
                .ok_or_else(|| StoreError::Database(e))?;
            return replay(draft, cid, existing);
        }
        (Err(e), _) => return Err(e.into()),
    };
    diesel::update(conversations::table.find(draft.conversation_id))
        .set((
            conversations::last_message.eq(draft.preview()),
            conversations::last_message_type.eq(kind.as_str()),
            conversations::last_message_time.eq(message.created_at),
            conversations::last_message_id.eq(message.id),
            conversations::updated_at.eq(message.created_at),
        ))
        .execute(conn)?;
    let members =
        participants::table.filter(participants::conversation_id.eq(draft.conversation_id));
    if draft.counts_unread() {
        diesel::update(members.filter(participants::user_id.ne(&draft.sender_id)))
            .set(participants::unread_count.eq(participants::unread_count + 1))
            .execute(conn)?;
    }
    let sender = diesel::update(members.filter(participants::user_id.eq(&draft.sender_id)))
        .set((
            participants::last_read_message_id.eq(message.id),
            participants::unread_count.eq(0),
        ))
        .execute(conn)?;
    // The record of a member leaving is the one message whose sender is
    // gone; anyone else must still be a member (membership may have changed
    // since the handler looked).
    if sender == 0 && !kind.is_record() {
        return Err(StoreError::not_found(format!(
            "no conversation {}",
            draft.conversation_id
        )));
    }
    let conversation =
        crate::conversations::load(conn, draft.conversation_id)?.ok_or_else(|| {
            StoreError::not_found(format!("no conversation {}", draft.conversation_id))
        })?;
    // The webhooks' outbox, in this transaction: the event is kept exactly
    // when the message is.
    crate::webhooks::enqueue(
        conn,
        EventType::MessageCreated,
        Some(message.id),
        message.created_at,
    )?;
    if draft.call.is_some() {
        crate::webhooks::enqueue(
            conn,
            EventType::CallEnded,
            Some(message.id),
            message.created_at,
        )?;
    }
    Ok(SendOutcome::Created {
        message,
        conversation: Box::new(conversation),
    })
}

/// The answer to a send whose `client_msg_id` was used before: the first
/// message when the retry carries the same body, a conflict otherwise.
fn replay(
    draft: &MessageDraft,
    cid: &str,
    existing: MessageRow,
) -> Result<SendOutcome, StoreError> {
    let same = draft.is_retry_of(
        existing.conversation_id,
        existing.message_type,
        &existing.content,
        existing.upload_id.as_deref(),
    );
    if same {
        Ok(SendOutcome::Replayed(existing))
    } else {
        Err(StoreError::taken(
            "client_msg_id",
            format!("client_msg_id `{cid}` was already used for a different message"),
        ))
    }
}

/// Recalls `message` at `now`: it stays stored (admins see it), marked; if
/// it was the conversation's last message the preview says so; each
/// member who had not read it has one unread message less; the webhooks
/// get `message.recalled`. Answers the
/// message and the conversation as they are now. Call inside a write
/// transaction.
pub fn recall(
    conn: &mut Conn,
    message: &MessageRow,
    now: i64,
) -> Result<(MessageRow, Conversation), StoreError> {
    crate::db::lock_message_order(conn)?;
    let recalled = diesel::update(messages::table.find(message.id))
        .set(messages::recalled_at.eq(now))
        .returning(MESSAGE_COLUMNS)
        .get_result(conn)?;
    let cid = message.conversation_id;
    diesel::update(
        conversations::table
            .find(cid)
            .filter(conversations::last_message_id.eq(message.id)),
    )
    .set((
        conversations::last_message.eq(RECALLED_PREVIEW),
        conversations::last_message_type.eq(RECALLED_TYPE),
    ))
    .execute(conn)?;
    if message.counts_unread {
        diesel::update(
            participants::table
                .filter(participants::conversation_id.eq(cid))
                .filter(participants::user_id.ne(&message.sender_id))
                .filter(participants::last_read_message_id.lt(message.id))
                .filter(participants::visible_after_id.lt(message.id))
                .filter(participants::unread_count.gt(0)),
        )
        .set(participants::unread_count.eq(participants::unread_count - 1))
        .execute(conn)?;
    }
    let conversation = crate::conversations::load(conn, cid)?
        .ok_or_else(|| StoreError::not_found(format!("no conversation {cid}")))?;
    crate::webhooks::enqueue(conn, EventType::MessageRecalled, Some(message.id), now)?;
    Ok((recalled, conversation))
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
    /// The reader sees only messages above this id (since he joined).
    pub visible_after: i64,
    /// The page.
    pub page: Page,
}

/// The messages `member` may read: his conversations', since he joined.
fn readable_by(
    member: &str,
) -> Box<dyn BoxableExpression<messages::table, MultiBackend, SqlType = Bool>> {
    Box::new(
        diesel::dsl::sql::<Bool>(
            "EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = messages.conversation_id AND p.user_id = ",
        )
        .bind::<Text, _>(member.to_string())
        .sql(" AND messages.id > p.visible_after_id)"),
    )
}

/// What a reconnecting socket missed, in id order: the messages above
/// `after_id` that `user_id` may read (his conversations', since he joined;
/// every conversation's for an admin), at most `limit`; and the ids of the
/// messages recalled at or after `recalled_since` (unix ms) among them.
pub fn missed(
    conn: &mut Conn,
    user_id: &str,
    admin: bool,
    after_id: i64,
    recalled_since: i64,
    limit: i64,
) -> Result<(Vec<MessageRow>, Vec<MessageRow>), StoreError> {
    let readable = || {
        let mut q = messages::table.into_boxed::<MultiBackend>();
        if !admin {
            q = q.filter(readable_by(user_id));
        }
        q
    };
    let rows = readable()
        .filter(messages::id.gt(after_id))
        .order(messages::id.asc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)?;
    let recalled = readable()
        .filter(messages::recalled_at.ge(recalled_since))
        .order(messages::id.asc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)?;
    Ok((rows, recalled))
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
            .filter(messages::id.gt(query.visible_after))
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
    /// Only what this member may read: his conversations' messages since
    /// he joined, recalled ones left out.
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

impl MessageFilter {
    /// Whether the text is the only filter (the admin's plain search).
    fn is_text_only(&self) -> bool {
        self.participant.is_none()
            && self.message_type.is_none()
            && self.sender_id.is_none()
            && self.conversation_id.is_none()
            && self.since.is_none()
            && self.until.is_none()
    }
}

#[derive(diesel::QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct RowId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rowid: i64,
}

/// A page of a search.
#[derive(Debug, Clone)]
pub struct Found {
    /// Every match, not only this page; for a query of one or two
    /// characters at most [`SHORT_COUNT_CAP`].
    pub count: i64,
    /// Whether there are more matches than `count` says (only a query of
    /// one or two characters stops counting).
    pub count_capped: bool,
    /// This page, newest first.
    pub rows: Vec<MessageRow>,
}

/// A query of one or two characters counts its matches up to this many:
/// the common ones match a good part of every message, and counting them
/// all would read the whole index.
pub const SHORT_COUNT_CAP: i64 = 10_000;

/// The count and whether it was capped, from up to `cap + 1` counted.
fn capped(n: i64, cap: Option<i64>) -> (i64, bool) {
    match cap {
        Some(cap) if n > cap => (cap, true),
        _ => (n, false),
    }
}

/// A text-only search answered by an index alone: counting and paging
/// inside the index (ordered by id) takes a few milliseconds where joining
/// every match to `messages` takes tens. `sql_from` is the index query's
/// `FROM … WHERE …` with one placeholder, whose ids are called `rowid`.
fn search_index_only(
    conn: &mut Conn,
    sql_from: &str,
    needle: &str,
    cap: Option<i64>,
    page: Page,
) -> Result<Found, StoreError> {
    use diesel::sql_types::BigInt;
    let pg = conn.is_pg();
    let (limit, offset) = if pg { ("$2", "$3") } else { ("?", "?") };
    let count_sql = match cap {
        Some(cap) => format!(
            "SELECT count(*) AS n FROM (SELECT 1 {sql_from} LIMIT {}) AS t",
            cap + 1
        ),
        None => format!("SELECT count(*) AS n {sql_from}"),
    };
    let n = diesel::sql_query(count_sql)
        .bind::<Text, _>(needle)
        .get_result::<Counted>(conn)?
        .n;
    let (count, count_capped) = capped(n, cap);
    let ids: Vec<i64> = diesel::sql_query(format!(
        "SELECT rowid {sql_from} ORDER BY rowid DESC LIMIT {limit} OFFSET {offset}"
    ))
    .bind::<Text, _>(needle)
    .bind::<BigInt, _>(page.page_size)
    .bind::<BigInt, _>(page.offset())
    .load::<RowId>(conn)?
    .into_iter()
    .map(|r| r.rowid)
    .collect();
    let rows = messages::table
        .filter(messages::id.eq_any(&ids))
        .order(messages::id.desc())
        .select(MessageRow::as_select())
        .load(conn)?;
    Ok(Found {
        count,
        count_capped,
        rows,
    })
}

/// Queries this long or longer (in characters) go through the trigram
/// index; shorter ones through the short-gram index (see
/// [`crate::search_index`]).
pub const FTS_MIN_CHARS: usize = crate::search_index::SHORT_MAX_CHARS + 1;

/// How a search text is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TextMatch {
    /// SQLite, three characters or more: an FTS5 query of `messages_fts`,
    /// the text as one quoted phrase.
    Fts(String),
    /// SQLite, one or two characters: an FTS5 query of `messages_grams`,
    /// the gram's token.
    Grams(String),
    /// PostgreSQL, three characters or more: a LIKE pattern with `\` as
    /// the escape character, matched with ILIKE (through pg_trgm's
    /// indexes).
    Ilike(String),
    /// PostgreSQL, one or two characters: the folded gram, looked up in
    /// `message_grams`.
    PgGrams(String),
}

/// An FTS5 query that matches `text` literally: a phrase in double quotes,
/// inner quotes doubled. Inside a phrase nothing else is syntax (no `AND`,
/// `*`, `NEAR`, column filters), and the trigram tokenizer turns the phrase
/// into a substring match.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn text_match(text: &str, pg: bool) -> TextMatch {
    match (crate::search_index::short_gram(text), pg) {
        (Some(gram), false) => TextMatch::Grams(crate::search_index::token_query(&gram)),
        (Some(gram), true) => TextMatch::PgGrams(gram),
        (None, false) => TextMatch::Fts(fts_phrase(text)),
        (None, true) => TextMatch::Ilike(like_pattern(text)),
    }
}

const FTS_FROM: &str = "FROM messages_fts WHERE messages_fts MATCH ?";
const GRAMS_FROM: &str = "FROM messages_grams WHERE messages_grams MATCH ?";
const PG_GRAMS_FROM: &str =
    "FROM (SELECT message_id AS rowid FROM message_grams WHERE grams @> ARRAY[$1::text]) AS g";

/// A page of matching messages, newest first, with the total.
///
/// `q` matches a text message's content or any message's file name as a
/// case-insensitive substring. Three characters and more: on SQLite through
/// the `messages_fts` trigram index, on PostgreSQL an escaped ILIKE, which
/// pg_trgm's GIN indexes serve; the count is exact. One or two characters:
/// through the short-gram index on either backend, the count stopping at
/// [`SHORT_COUNT_CAP`]. The indexes are filled a moment after each send
/// (see [`crate::search_index`]). The query is always a bound parameter.
pub fn search(conn: &mut Conn, filter: &MessageFilter, page: Page) -> Result<Found, StoreError> {
    let pg = conn.is_pg();
    let text = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|t| text_match(t, pg));
    let cap = matches!(text, Some(TextMatch::Grams(_) | TextMatch::PgGrams(_)))
        .then_some(SHORT_COUNT_CAP);
    if filter.is_text_only() {
        match &text {
            Some(TextMatch::Fts(phrase)) => {
                return search_index_only(conn, FTS_FROM, phrase, None, page)
            }
            Some(TextMatch::Grams(token)) => {
                return search_index_only(conn, GRAMS_FROM, token, cap, page)
            }
            Some(TextMatch::PgGrams(gram)) => {
                return search_index_only(conn, PG_GRAMS_FROM, gram, cap, page)
            }
            _ => {}
        }
    }
    let build = || {
        let mut q = messages::table.into_boxed::<MultiBackend>();
        if let Some(me) = &filter.participant {
            // A member finds what he may read: his conversations' messages
            // since he joined, never a recalled one.
            q = q
                .filter(readable_by(me))
                .filter(messages::recalled_at.is_null());
        }
        let indexed = |sql: &str, needle: &str, end: &str| {
            diesel::dsl::sql::<Bool>(sql)
                .bind::<Text, _>(needle.to_string())
                .sql(end)
        };
        match &text {
            Some(TextMatch::Fts(phrase)) => {
                q = q.filter(indexed(
                    "messages.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ",
                    phrase,
                    ")",
                ));
            }
            Some(TextMatch::Grams(token)) => {
                q = q.filter(indexed(
                    "messages.id IN (SELECT rowid FROM messages_grams WHERE messages_grams MATCH ",
                    token,
                    ")",
                ));
            }
            Some(TextMatch::PgGrams(gram)) => {
                q = q.filter(indexed(
                    "messages.id IN (SELECT message_id FROM message_grams WHERE grams @> ARRAY[",
                    gram,
                    "::text])",
                ));
            }
            Some(TextMatch::Ilike(pattern)) => {
                q = q.filter(
                    diesel::dsl::sql::<Bool>(
                        "((messages.message_type = 'text' AND messages.content ILIKE ",
                    )
                    .bind::<Text, _>(pattern.clone())
                    .sql(" ESCAPE '\\') OR messages.file_name ILIKE ")
                    .bind::<Text, _>(pattern.clone())
                    .sql(" ESCAPE '\\')"),
                );
            }
            None => {}
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
    let (count, count_capped) = match cap {
        Some(cap) => {
            let ids: Vec<i64> = build().select(messages::id).limit(cap + 1).load(conn)?;
            capped(ids.len() as i64, Some(cap))
        }
        None => (build().count().get_result(conn)?, false),
    };
    let rows = build()
        .order(messages::id.desc())
        .limit(page.page_size)
        .offset(page.offset())
        .select(MessageRow::as_select())
        .load(conn)?;
    Ok(Found {
        count,
        count_capped,
        rows,
    })
}

#[cfg(test)]
mod search_tests {
    use super::*;
    use crate::search_index::index_all_in;

    #[test]
    fn each_length_goes_through_its_index() {
        assert_eq!(
            text_match("有货", false),
            TextMatch::Grams("\"e69c89e8b4a7\"".into())
        );
        assert_eq!(text_match("%_", false), TextMatch::Grams("\"255f\"".into()));
        assert_eq!(text_match("A", false), TextMatch::Grams("\"61\"".into()));
        assert_eq!(text_match("有货", true), TextMatch::PgGrams("有货".into()));
        assert_eq!(text_match("Ok", true), TextMatch::PgGrams("ok".into()));
        assert_eq!(
            text_match("商品有货", false),
            TextMatch::Fts("\"商品有货\"".into())
        );
        assert_eq!(
            text_match("say \"hi\" OR *", false),
            TextMatch::Fts("\"say \"\"hi\"\" OR *\"".into())
        );
        assert_eq!(
            text_match("50%_", true),
            TextMatch::Ilike("%50\\%\\_%".into())
        );
    }

    fn text(conversation_id: i64, sender: &str, content: &str) -> MessageDraft {
        MessageDraft::text(conversation_id, sender, content, 1)
    }

    fn search_as(conn: &mut Conn, participant: Option<&str>, q: &str) -> Found {
        let filter = MessageFilter {
            q: Some(q.into()),
            participant: participant.map(str::to_string),
            ..MessageFilter::default()
        };
        search(conn, &filter, Page::new(None, None, 100).unwrap()).unwrap()
    }

    /// What the admin finds, after indexing everything stored so far.
    fn found(conn: &mut Conn, q: &str) -> Vec<String> {
        index_all_in(conn).unwrap();
        let found = search_as(conn, None, q);
        assert_eq!(found.count, found.rows.len() as i64);
        assert!(!found.count_capped);
        found.rows.into_iter().map(|r| r.content).collect()
    }

    /// The migration that moved indexing off the send path: the trigram
    /// index keeps what its trigger indexed (no message twice), the short
    /// grams of older messages are backfilled, and new messages are
    /// indexed by the indexer, not by the send.
    #[test]
    fn the_indexes_cover_old_and_new_messages() {
        use diesel::connection::SimpleConnection;
        const UP: &str =
            include_str!("../../../migrations/sqlite/2026-12-03-000001_short_search/up.sql");
        const DOWN: &str =
            include_str!("../../../migrations/sqlite/2026-12-03-000001_short_search/down.sql");
        let (_guard, db) = crate::demo_db(crate::testing::Backend::Sqlite);
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            send(c, &text(conv.id, "b1", "请问这个商品有货吗"))?;
            index_all_in(c)?;
            // As before the migration: the trigram trigger, no short grams.
            c.batch_execute(DOWN)?;
            send(c, &text(conv.id, "m1", "亲，商品有货"))?;
            c.batch_execute(UP)?;
            send(c, &text(conv.id, "b1", "有货就好，商品不错"))?;
            // Nothing indexed the newest message yet.
            assert!(search_as(c, None, "商品不").rows.is_empty());
            assert_eq!(
                found(c, "商品有货"),
                vec!["亲，商品有货", "请问这个商品有货吗"]
            );
            assert_eq!(found(c, "商品不"), vec!["有货就好，商品不错"]);
            assert_eq!(found(c, "有货").len(), 3);
            assert_eq!(found(c, "货").len(), 3);
            assert_eq!(found(c, "商品").len(), 3);
            Ok(())
        })
        .unwrap();
    }

    crate::on_both_backends! {
    /// Substrings of any length match, Chinese and English, in a text or in
    /// a file's name, case-insensitively: one, two, three characters and
    /// more.
    fn substrings_of_any_length_match(backend) {
        let (_guard, db) = crate::demo_db(backend);
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            send(c, &text(conv.id, "b1", "请问这个商品有货吗"))?;
            send(c, &text(conv.id, "m1", "亲，商品有货"))?;
            send(c, &text(conv.id, "b1", "Hello World 100%_done"))?;
            send(c, &text(conv.id, "m1", "ÉTÉ à Paris"))?;
            assert_eq!(found(c, "货").len(), 2);
            assert_eq!(found(c, "有货").len(), 2);
            assert_eq!(found(c, "亲"), vec!["亲，商品有货"]);
            assert_eq!(found(c, "，"), vec!["亲，商品有货"]);
            assert_eq!(found(c, "商品有货").len(), 2);
            assert_eq!(found(c, "请问这个"), vec!["请问这个商品有货吗"]);
            assert_eq!(found(c, "hello world"), vec!["Hello World 100%_done"]);
            assert_eq!(found(c, "H"), vec!["Hello World 100%_done"]);
            assert_eq!(found(c, "lO"), vec!["Hello World 100%_done"]);
            assert_eq!(found(c, "été"), vec!["ÉTÉ à Paris"]);
            assert_eq!(found(c, "Té"), vec!["ÉTÉ à Paris"]);
            assert_eq!(found(c, "À"), vec!["ÉTÉ à Paris"]);
            assert_eq!(found(c, "%_").len(), 1, "wildcards are literal");
            assert_eq!(found(c, "%").len(), 1);
            assert_eq!(found(c, "0%").len(), 1);
            assert!(found(c, "_d0").is_empty());
            assert!(found(c, "没有").is_empty());
            assert!(found(c, "没").is_empty());
            // Not across a blank: "o W" has one, "oW" none.
            assert!(found(c, "oW").is_empty());
            assert!(found(c, "\"").is_empty());
            Ok(())
        })
        .unwrap();
    }
    }

    crate::on_both_backends! {
    /// Short queries keep every filter: a member finds only what he may
    /// read and never a recalled message (the admin finds it); type,
    /// sender and conversation narrow them; pages follow each other.
    fn short_queries_keep_the_filters(backend) {
        let (_guard, db) = crate::demo_db(backend);
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            let other = crate::conversations::get_or_create(
                c,
                &livechat_domain::Sides {
                    customer_id: "b2".into(),
                    agent_id: "m1".into(),
                },
                "b2",
                1,
            )?
            .0
            .row;
            let mine = send(c, &text(conv.id, "b1", "有货吗"))?;
            send(c, &text(conv.id, "m1", "有的"))?;
            send(c, &text(other.id, "b2", "还有吗"))?;
            let SendOutcome::Created { message, .. } = mine else {
                panic!("stored");
            };
            index_all_in(c)?;
            let contents = |f: Found| f.rows.into_iter().map(|r| r.content).collect::<Vec<_>>();
            assert_eq!(contents(search_as(c, Some("b1"), "有")), ["有的", "有货吗"]);
            assert_eq!(contents(search_as(c, Some("b2"), "有")), ["还有吗"]);
            assert_eq!(search_as(c, None, "有").count, 3);
            recall(c, &message, 2)?;
            assert_eq!(contents(search_as(c, Some("b1"), "有货")), Vec::<String>::new());
            assert_eq!(contents(search_as(c, Some("m1"), "有")), ["还有吗", "有的"]);
            assert_eq!(contents(search_as(c, None, "有货")), ["有货吗"], "admins find it");
            let filter = MessageFilter {
                q: Some("有".into()),
                sender_id: Some("m1".into()),
                ..MessageFilter::default()
            };
            let page = Page::new(None, None, 10).unwrap();
            assert_eq!(contents(search(c, &filter, page)?), ["有的"]);
            let filter = MessageFilter {
                q: Some("有".into()),
                conversation_id: Some(other.id),
                message_type: Some(MessageType::Text),
                ..MessageFilter::default()
            };
            assert_eq!(contents(search(c, &filter, page)?), ["还有吗"]);
            let mut paged = |n: i64| {
                let filter = MessageFilter {
                    q: Some("有".into()),
                    ..MessageFilter::default()
                };
                search(c, &filter, Page::new(Some(n), Some(2), 10).unwrap())
            };
            let first = paged(1)?;
            assert_eq!((first.count, first.count_capped), (3, false));
            assert_eq!(contents(first), ["还有吗", "有的"]);
            assert_eq!(contents(paged(2)?), ["有货吗"]);
            Ok(())
        })
        .unwrap();
    }
    }

    crate::on_both_backends! {
    /// One or two characters count up to the cap and say so; the pages go
    /// on past it, newest first. Three characters count exactly.
    fn short_queries_cap_the_count(backend) {
        let (_guard, db) = crate::demo_db(backend);
        db.write_blocking(|c| {
            use diesel::connection::SimpleConnection;
            let conv = crate::b1_m1(c)?;
            let n = SHORT_COUNT_CAP + 5;
            let mut sql = String::new();
            for i in 0..n {
                if i % 1000 == 0 {
                    if i > 0 {
                        sql.push_str(";\n");
                    }
                    sql.push_str("INSERT INTO messages (conversation_id, sender_id, message_type, content, counts_unread, created_at) VALUES ");
                } else {
                    sql.push(',');
                }
                sql.push_str(&format!("({}, 'b1', 'text', 'Bulk 货 {i}', TRUE, {i})", conv.id));
            }
            sql.push(';');
            c.batch_execute(&sql)?;
            index_all_in(c)?;
            for q in ["货", "k", "bu", "货 "] {
                let f = search_as(c, None, q);
                assert_eq!((f.count, f.count_capped), (SHORT_COUNT_CAP, true), "q={q}");
                assert_eq!(f.rows.len(), 100);
                assert_eq!(f.rows[0].content, format!("Bulk 货 {}", n - 1));
            }
            let member = search_as(c, Some("b1"), "货");
            assert_eq!((member.count, member.count_capped), (SHORT_COUNT_CAP, true));
            let f = search_as(c, None, "lk 货");
            assert_eq!((f.count, f.count_capped), (n, false));
            let f = search_as(c, None, "货 1000");
            assert_eq!((f.count, f.count_capped), (6, false), "1000 and 10000 to 10004");
            let last = search(
                c,
                &MessageFilter {
                    q: Some("货".into()),
                    ..MessageFilter::default()
                },
                Page::new(Some(101), Some(100), 100).unwrap(),
            )?;
            assert_eq!(last.rows.len(), 5);
            assert_eq!(last.rows[4].content, "Bulk 货 0");
            Ok(())
        })
        .unwrap();
    }
    }

    crate::on_both_backends! {
    /// The writer indexes a batch right after it commits, off the send:
    /// the send alone leaves the message unfound, and any write queued
    /// after it finds the message indexed.
    fn the_writer_indexes_after_each_commit(backend) {
        let (_guard, db) = crate::demo_db(backend);
        let conv = db.write_blocking(crate::b1_m1).unwrap();
        let unindexed = db
            .write_blocking(move |c| {
                send(c, &text(conv.id, "b1", "刚发的消息 fresh"))?;
                Ok((search_as(c, None, "刚").count, search_as(c, None, "fresh").count))
            })
            .unwrap();
        // PostgreSQL's pg_trgm indexes are the table's own: three
        // characters find the message at once.
        let at_once = i64::from(backend == crate::testing::Backend::Postgres);
        assert_eq!(unindexed, (0, at_once), "the send itself indexes nothing");
        db.write_blocking(|_| Ok(())).unwrap();
        let found = db
            .read_blocking(|c| Ok((search_as(c, None, "刚").count, search_as(c, None, "fresh").count)))
            .unwrap();
        assert_eq!(found, (1, 1));
    }
    }

    crate::on_both_backends! {
    /// Should a message's text change or the message go, the indexes
    /// follow.
    fn edits_and_deletions_reach_the_indexes(backend) {
        let (_guard, db) = crate::demo_db(backend);
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            let SendOutcome::Created { message, .. } = send(c, &text(conv.id, "b1", "旧的文字 old"))? else {
                panic!("stored");
            };
            send(c, &text(conv.id, "b1", "别的 other"))?;
            index_all_in(c)?;
            diesel::update(messages::table.find(message.id))
                .set(messages::content.eq("新的文字 new"))
                .execute(c)?;
            assert!(found(c, "旧").is_empty());
            assert!(found(c, "old").is_empty());
            assert_eq!(found(c, "新"), ["新的文字 new"]);
            assert_eq!(found(c, "new"), ["新的文字 new"]);
            assert_eq!(found(c, "的").len(), 2);
            diesel::delete(messages::table.find(message.id)).execute(c)?;
            assert!(found(c, "新").is_empty());
            assert!(found(c, "new").is_empty());
            assert_eq!(found(c, "的"), ["别的 other"]);
            assert_eq!(found(c, "other"), ["别的 other"]);
            Ok(())
        })
        .unwrap();
    }
    }
}

#[cfg(test)]
mod concurrency_tests {
    use super::*;
    use crate::Db;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap()
    }

    async fn send_text(
        db: &Db,
        conversation_id: i64,
        sender: &str,
        body: String,
        cid: Option<String>,
    ) -> Result<SendOutcome, StoreError> {
        let sender = sender.to_string();
        db.write(move |c| {
            let mut draft = MessageDraft::text(conversation_id, &sender, &body, 1);
            draft.client_msg_id = cid;
            send(c, &draft)
        })
        .await
    }

    crate::on_both_backends! {
    /// 50 sends at once: every one stored, the receiver's unread count
    /// exact, the sender's read mark on his last message.
    fn concurrent_sends_keep_counts_exact(backend) {
        let (_guard, db) = crate::demo_db(backend);
        let conv = db.write_blocking(crate::b1_m1).unwrap();
        runtime().block_on(async {
            let sends = (0..50).map(|i| {
                let db = db.clone();
                tokio::spawn(async move { send_text(&db, conv.id, "b1", format!("m{i}"), None).await })
            });
            for s in sends.collect::<Vec<_>>() {
                s.await.unwrap().unwrap();
            }
        });
        let after = db
            .read_blocking(|c| Ok(crate::conversations::load(c, conv.id)?.unwrap()))
            .unwrap();
        assert_eq!(after.member("m1").unwrap().unread_count, 50);
        assert_eq!(after.member("b1").unwrap().unread_count, 0);
        let newest = db
            .read_blocking(move |c| {
                Ok(messages::table
                    .filter(messages::conversation_id.eq(conv.id))
                    .select(diesel::dsl::max(messages::id))
                    .first::<Option<i64>>(c)?)
            })
            .unwrap();
        assert_eq!(after.member("b1").unwrap().last_read_message_id, newest.unwrap());
        assert_eq!(after.row.last_message_id, newest.unwrap());
    }
    }

    crate::on_both_backends! {
    /// The same `client_msg_id` retried 20 times at once stores one message,
    /// and every retry answers it.
    fn a_concurrent_retry_stores_one_message(backend) {
        let (_guard, db) = crate::demo_db(backend);
        let conv = db.write_blocking(crate::b1_m1).unwrap();
        let ids: Vec<i64> = runtime().block_on(async {
            let sends = (0..20).map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    send_text(&db, conv.id, "b1", "once".into(), Some("c-1".into())).await
                })
            });
            let mut ids = Vec::new();
            for s in sends.collect::<Vec<_>>() {
                ids.push(match s.await.unwrap().unwrap() {
                    SendOutcome::Created { message, .. } => message.id,
                    SendOutcome::Replayed(m) => m.id,
                });
            }
            ids
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        let stored: i64 = db
            .read_blocking(move |c| {
                Ok(messages::table
                    .filter(messages::conversation_id.eq(conv.id))
                    .count()
                    .get_result(c)?)
            })
            .unwrap();
        assert_eq!(stored, 1);
        let after = db
            .read_blocking(|c| Ok(crate::conversations::load(c, conv.id)?.unwrap()))
            .unwrap();
        assert_eq!(after.member("m1").unwrap().unread_count, 1);
    }
    }

    crate::on_both_backends! {
    /// Ids become visible in order: a reader polling for what came after
    /// the newest id he saw never finds a smaller id appear later.
    fn ids_become_visible_in_order(backend) {
        // Connections enough for every writer and the reader at once.
        let guard = crate::testing::TestDatabase::new(backend);
        let db = Db::open(&guard.url(), 8).unwrap();
        db.write_blocking(crate::demo::seed).unwrap();
        // One conversation per writer: nothing they write is shared, so no
        // row lock orders them.
        let convs: Vec<i64> = (1..=4)
            .map(|n| {
                db.write_blocking(move |c| {
                    let sides = livechat_domain::Sides {
                        customer_id: "b1".into(),
                        agent_id: format!("m{n}"),
                    };
                    Ok(crate::conversations::get_or_create(c, &sides, "b1", 1)?.0.row.id)
                })
                .unwrap()
            })
            .collect();
        let rt = runtime();
        let seen: Vec<i64> = rt.block_on(async {
            let writers: Vec<_> = (0..4)
                .map(|w| {
                    let db = db.clone();
                    let conv = convs[w];
                    tokio::spawn(async move {
                        for i in 0..25 {
                            db.write(move |c| {
                                let draft = MessageDraft::text(conv, "b1", &format!("{w}-{i}"), 1);
                                send(c, &draft)?;
                                // A send that takes a while to commit after its
                                // insert: the window in which a later id could
                                // become visible first.
                                if c.is_pg() {
                                    use diesel::connection::SimpleConnection;
                                    let ms = (w * 3 + i) % 10;
                                    c.batch_execute(&format!("SELECT pg_sleep(0.00{ms})"))?;
                                }
                                Ok(())
                            })
                            .await
                            .unwrap();
                        }
                    })
                })
                .collect();
            let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let reader = {
                let db = db.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut after = 0;
                    // Polls until the writers are done, then once more.
                    loop {
                        let last_round = done.load(std::sync::atomic::Ordering::SeqCst);
                        let ids: Vec<i64> = db
                            .read(move |c| {
                                Ok(messages::table
                                    .filter(messages::id.gt(after))
                                    .order(messages::id.asc())
                                    .select(messages::id)
                                    .load(c)?)
                            })
                            .await
                            .unwrap();
                        if let Some(last) = ids.last() {
                            after = *last;
                        }
                        seen.extend(ids);
                        if last_round {
                            break;
                        }
                    }
                    seen
                })
            };
            for w in writers {
                w.await.unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            reader.await.unwrap()
        });
        let all: Vec<i64> = db
            .read_blocking(move |c| {
                Ok(messages::table
                    .order(messages::id.asc())
                    .select(messages::id)
                    .load(c)?)
            })
            .unwrap();
        assert_eq!(seen, all, "the reader missed an id that became visible late");
    }
    }
}
