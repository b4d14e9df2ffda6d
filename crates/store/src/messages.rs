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

/// A text-only search answered by the index itself: counting and paging
/// inside `messages_fts` (ordered by rowid, which is the message id) takes a
/// few milliseconds where joining every match to `messages` takes tens.
fn search_index_only(
    conn: &mut Conn,
    phrase: &str,
    page: Page,
) -> Result<(i64, Vec<MessageRow>), StoreError> {
    use diesel::sql_types::BigInt;
    let count =
        diesel::sql_query("SELECT count(*) AS n FROM messages_fts WHERE messages_fts MATCH ?")
            .bind::<Text, _>(phrase)
            .get_result::<Counted>(conn)?
            .n;
    let ids: Vec<i64> = diesel::sql_query(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ? OFFSET ?",
    )
    .bind::<Text, _>(phrase)
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
    Ok((count, rows))
}

/// Queries this long or longer (in characters) go through the trigram
/// index; shorter ones cannot (a trigram index holds no token under three
/// characters) and scan with LIKE instead.
pub const FTS_MIN_CHARS: usize = 3;

/// How a search text is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TextMatch {
    /// An FTS5 query: the text as one quoted phrase.
    Fts(String),
    /// A LIKE pattern with `\` as the escape character.
    Like(String),
    /// The same, matched with PostgreSQL's ILIKE (through pg_trgm's
    /// indexes).
    Ilike(String),
}

/// An FTS5 query that matches `text` literally: a phrase in double quotes,
/// inner quotes doubled. Inside a phrase nothing else is syntax (no `AND`,
/// `*`, `NEAR`, column filters), and the trigram tokenizer turns the phrase
/// into a substring match.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn text_match(text: &str) -> TextMatch {
    if text.chars().count() >= FTS_MIN_CHARS {
        TextMatch::Fts(fts_phrase(text))
    } else {
        TextMatch::Like(like_pattern(text))
    }
}

/// A page of matching messages, newest first, with the exact total.
///
/// `q` matches a text message's content or any message's file name as a
/// case-insensitive substring. On SQLite: through the `messages_fts`
/// trigram index from three characters on, with an escaped LIKE below
/// that. On PostgreSQL: an escaped ILIKE, which pg_trgm's GIN indexes
/// serve, at any length. The query is always a bound parameter.
pub fn search(
    conn: &mut Conn,
    filter: &MessageFilter,
    page: Page,
) -> Result<(i64, Vec<MessageRow>), StoreError> {
    let pg = conn.is_pg();
    let text = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|t| {
            if pg {
                TextMatch::Ilike(like_pattern(t))
            } else {
                text_match(t)
            }
        });
    if let Some(TextMatch::Fts(phrase)) = &text {
        if filter.is_text_only() {
            return search_index_only(conn, phrase, page);
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
        match &text {
            Some(TextMatch::Fts(phrase)) => {
                q = q.filter(
                    diesel::dsl::sql::<Bool>(
                        "messages.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ",
                    )
                    .bind::<Text, _>(phrase.clone())
                    .sql(")"),
                );
            }
            Some(TextMatch::Like(pattern)) => {
                q = q.filter(
                    messages::message_type
                        .eq("text")
                        .and(messages::content.like(pattern.clone()).escape('\\'))
                        .or(messages::file_name.like(pattern.clone()).escape('\\')),
                );
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
    let count = build().count().get_result(conn)?;
    let rows = build()
        .order(messages::id.desc())
        .limit(page.page_size)
        .offset(page.offset())
        .select(MessageRow::as_select())
        .load(conn)?;
    Ok((count, rows))
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn short_queries_scan_and_long_ones_use_the_index() {
        assert_eq!(text_match("有货"), TextMatch::Like("%有货%".into()));
        assert_eq!(text_match("%_"), TextMatch::Like("%\\%\\_%".into()));
        assert_eq!(
            text_match("商品有货"),
            TextMatch::Fts("\"商品有货\"".into())
        );
        assert_eq!(
            text_match("say \"hi\" OR *"),
            TextMatch::Fts("\"say \"\"hi\"\" OR *\"".into())
        );
    }

    fn text(conversation_id: i64, sender: &str, content: &str) -> MessageDraft {
        MessageDraft::text(conversation_id, sender, content, 1)
    }

    fn found(conn: &mut Conn, q: &str) -> Vec<String> {
        let filter = MessageFilter {
            q: Some(q.into()),
            ..MessageFilter::default()
        };
        let (count, rows) = search(conn, &filter, Page::new(None, None, 100).unwrap()).unwrap();
        assert_eq!(count, rows.len() as i64);
        rows.into_iter().map(|r| r.content).collect()
    }

    /// The migration indexes the messages that exist when it runs, and the
    /// triggers every message after.
    #[test]
    fn the_index_covers_old_and_new_messages() {
        use diesel::connection::SimpleConnection;
        const UP: &str =
            include_str!("../../../migrations/sqlite/2026-11-24-000002_message_search/up.sql");
        const DOWN: &str =
            include_str!("../../../migrations/sqlite/2026-11-24-000002_message_search/down.sql");
        let (_guard, db) = crate::demo_db(crate::testing::Backend::Sqlite);
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            send(c, &text(conv.id, "b1", "请问这个商品有货吗"))?;
            // As before the migration: no index, no triggers.
            c.batch_execute(DOWN)?;
            send(c, &text(conv.id, "m1", "亲，商品有货"))?;
            c.batch_execute(UP)?;
            send(c, &text(conv.id, "b1", "有货就好，商品不错"))?;
            assert_eq!(
                found(c, "商品有货"),
                vec!["亲，商品有货", "请问这个商品有货吗"]
            );
            assert_eq!(found(c, "商品不"), vec!["有货就好，商品不错"]);
            assert_eq!(found(c, "有货").len(), 3);
            Ok(())
        })
        .unwrap();
    }

    crate::on_both_backends! {
    /// Substrings of any length match, Chinese ones included: one, two,
    /// three characters and more, in a text or in a file's name.
    fn substrings_of_any_length_match(backend) {
        let (_guard, db) = crate::demo_db(backend);
        db.write_blocking(|c| {
            let conv = crate::b1_m1(c)?;
            send(c, &text(conv.id, "b1", "请问这个商品有货吗"))?;
            send(c, &text(conv.id, "m1", "亲，商品有货"))?;
            send(c, &text(conv.id, "b1", "Hello World 100%_done"))?;
            assert_eq!(found(c, "货").len(), 2);
            assert_eq!(found(c, "有货").len(), 2);
            assert_eq!(found(c, "商品有货").len(), 2);
            assert_eq!(found(c, "请问这个"), vec!["请问这个商品有货吗"]);
            assert_eq!(found(c, "hello world"), vec!["Hello World 100%_done"]);
            assert_eq!(found(c, "%_").len(), 1, "wildcards are literal");
            assert!(found(c, "_d0").is_empty());
            assert!(found(c, "没有").is_empty());
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
