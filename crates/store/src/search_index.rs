//! The search indexes, filled off the send path.
//!
//! A send stores its message and nothing else for search: the writer
//! thread indexes every message whose id is above a stored high-water mark
//! (`search_index_state`), in batches of [`BATCH`] in one transaction each,
//! right after each batch of writes commits (its callers have their answers
//! by then) and, while it is behind, whenever no write is waiting. So a
//! message can be found a moment after its send was answered, not in the
//! same instant.
//!
//! Two indexes:
//!
//! - SQLite's `messages_fts` (FTS5, trigram tokenizer) answers queries of
//!   three characters or more; on PostgreSQL pg_trgm's GIN indexes on
//!   `messages` do (maintained by PostgreSQL itself).
//! - The short-gram index answers one- and two-character queries: for each
//!   message, the distinct case-folded substrings of one and two
//!   characters (no whitespace in them: a trimmed query of one or two
//!   characters has none) of a text message's content and of any message's
//!   file name. On SQLite a contentless FTS5 table `messages_grams` whose
//!   document is those grams, each written as the hex of its UTF-8 bytes (a
//!   token the `ascii` tokenizer keeps whole, punctuation included); on
//!   PostgreSQL `message_grams`, a `text[]` per message under a GIN index.
//!
//! Messages ids become visible in id order on both backends (one writer on
//! SQLite, `lock_message_order` on PostgreSQL), so "every id up to the
//! mark" is a prefix the indexer never has to revisit. A change to an
//! indexed message's text (none happens today) or its deletion is followed
//! by triggers: the trigram entry is replaced in place, the short grams are
//! dropped and the message is queued in `search_reindex` for the next
//! batch. A recall changes no text: searches leave recalled messages out
//! for members at query time.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::sqlite::SqliteConnection;

use crate::db::Conn;
use crate::error::StoreError;

/// Messages indexed per transaction.
pub const BATCH: i64 = 500;

/// Queries of at most this many characters go through the short-gram
/// index; longer ones through the trigram index (SQLite) or pg_trgm.
pub const SHORT_MAX_CHARS: usize = 2;

/// Tables derived from `messages` (rebuilt by the indexer, never copied).
pub const DERIVED_TABLES: &[&str] = &["search_index_state", "search_reindex", "message_grams"];

/// How often an idle writer looks for messages nobody indexed yet (another
/// node's that stopped before indexing them, a backfill).
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The case-folded form of a query (or gram): each character's lowercase.
pub fn fold(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// The short query `q` (already trimmed) as the gram to look up, when it
/// has one or two characters.
pub fn short_gram(q: &str) -> Option<String> {
    let n = q.chars().count();
    (1..=SHORT_MAX_CHARS).contains(&n).then(|| fold(q))
}

/// Adds the distinct grams of one and two characters of `text`, folded,
/// leaving out those with whitespace.
fn add_grams(text: &str, into: &mut BTreeSet<String>) {
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c.is_whitespace() {
            previous = None;
            continue;
        }
        into.insert(c.to_lowercase().collect());
        if let Some(p) = previous {
            into.insert(p.to_lowercase().chain(c.to_lowercase()).collect());
        }
        previous = Some(c);
    }
}

/// The searchable text of a message: a text message's content, any
/// message's file name.
fn searchable<'a>(message_type: &str, content: &'a str) -> Option<&'a str> {
    (message_type == "text").then_some(content)
}

/// The short grams of a message.
pub fn message_grams(
    message_type: &str,
    content: &str,
    file_name: Option<&str>,
) -> BTreeSet<String> {
    let mut grams = BTreeSet::new();
    if let Some(text) = searchable(message_type, content) {
        add_grams(text, &mut grams);
    }
    if let Some(name) = file_name {
        add_grams(name, &mut grams);
    }
    grams
}

/// A gram as the SQLite index's token: the hex of its UTF-8 bytes.
pub fn token(gram: &str) -> String {
    let mut hex = String::with_capacity(gram.len() * 2);
    for b in gram.bytes() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The FTS5 query that finds `gram` in `messages_grams`.
pub fn token_query(gram: &str) -> String {
    format!("\"{}\"", token(gram))
}

#[derive(diesel::QueryableByName)]
struct Pending {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pending: bool,
}

#[derive(diesel::QueryableByName)]
struct Mark {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    indexed_up_to: i64,
}

#[derive(diesel::QueryableByName)]
struct Unindexed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    message_type: String,
    #[diesel(sql_type = Text)]
    content: String,
    #[diesel(sql_type = Nullable<Text>)]
    file_name: Option<String>,
}

/// Whether a message is waiting to be indexed (one cheap statement).
fn pending(conn: &mut Conn) -> Result<bool, StoreError> {
    Ok(diesel::sql_query(
        "SELECT (EXISTS (SELECT 1 FROM messages WHERE id > (SELECT min(indexed_up_to) FROM search_index_state)) \
         OR EXISTS (SELECT 1 FROM search_reindex)) AS pending",
    )
    .get_result::<Pending>(conn)?
    .pending)
}

const UNINDEXED: &str =
    "SELECT id, message_type, content, file_name FROM messages WHERE id > ? ORDER BY id LIMIT ?";
const REINDEX: &str = "SELECT m.id, m.message_type, m.content, m.file_name FROM search_reindex r \
     JOIN messages m ON m.id = r.message_id ORDER BY r.message_id LIMIT ?";

/// One batch on SQLite, inside the caller's transaction: answers how many
/// messages it indexed.
fn batch_sqlite(c: &mut SqliteConnection) -> Result<usize, StoreError> {
    let marks: Vec<Mark> =
        diesel::sql_query("SELECT name, indexed_up_to FROM search_index_state").load(c)?;
    let mark = |name: &str| {
        marks
            .iter()
            .find(|m| m.name == name)
            .map_or(i64::MAX, |m| m.indexed_up_to)
    };
    let (trigram, grams) = (mark("trigram"), mark("grams"));
    let reindexed: Vec<Unindexed> = diesel::sql_query(REINDEX)
        .bind::<BigInt, _>(BATCH)
        .load(c)?;
    for m in &reindexed {
        insert_grams_sqlite(c, m)?;
        diesel::sql_query("DELETE FROM search_reindex WHERE message_id = ?")
            .bind::<BigInt, _>(m.id)
            .execute(c)?;
    }
    // A queued id whose message is gone has nothing left to index.
    if reindexed.is_empty() {
        c.batch_execute(
            "DELETE FROM search_reindex WHERE message_id NOT IN (SELECT id FROM messages)",
        )?;
    }
    let rows: Vec<Unindexed> = diesel::sql_query(UNINDEXED)
        .bind::<BigInt, _>(trigram.min(grams))
        .bind::<BigInt, _>(BATCH)
        .load(c)?;
    for m in &rows {
        if m.id > trigram {
            diesel::sql_query("INSERT INTO messages_fts (rowid, body, file_name) VALUES (?, ?, ?)")
                .bind::<BigInt, _>(m.id)
                .bind::<Nullable<Text>, _>(searchable(&m.message_type, &m.content))
                .bind::<Nullable<Text>, _>(m.file_name.as_deref())
                .execute(c)?;
        }
        if m.id > grams {
            insert_grams_sqlite(c, m)?;
        }
    }
    if let Some(last) = rows.last() {
        diesel::sql_query(
            "UPDATE search_index_state SET indexed_up_to = ? WHERE indexed_up_to < ?",
        )
        .bind::<BigInt, _>(last.id)
        .bind::<BigInt, _>(last.id)
        .execute(c)?;
    }
    Ok(rows.len() + reindexed.len())
}

fn insert_grams_sqlite(c: &mut SqliteConnection, m: &Unindexed) -> Result<(), StoreError> {
    let grams = message_grams(&m.message_type, &m.content, m.file_name.as_deref());
    if grams.is_empty() {
        return Ok(());
    }
    let document = grams.iter().map(|g| token(g)).collect::<Vec<_>>().join(" ");
    diesel::sql_query("INSERT INTO messages_grams (rowid, grams) VALUES (?, ?)")
        .bind::<BigInt, _>(m.id)
        .bind::<Text, _>(document)
        .execute(c)?;
    Ok(())
}

/// One batch on PostgreSQL, inside the caller's transaction. The mark's
/// row lock makes the indexers of several nodes take turns (without
/// holding up their sends).
fn batch_pg(c: &mut PgConnection) -> Result<usize, StoreError> {
    let mark: i64 = diesel::sql_query(
        "SELECT name, indexed_up_to FROM search_index_state WHERE name = 'grams' FOR UPDATE",
    )
    .get_result::<Mark>(c)?
    .indexed_up_to;
    let reindexed: Vec<Unindexed> = diesel::sql_query(
        "SELECT m.id, m.message_type, m.content, m.file_name FROM search_reindex r \
         JOIN messages m ON m.id = r.message_id ORDER BY r.message_id LIMIT $1 FOR UPDATE OF r",
    )
    .bind::<BigInt, _>(BATCH)
    .load(c)?;
    if !reindexed.is_empty() {
        let ids: Vec<i64> = reindexed.iter().map(|m| m.id).collect();
        diesel::sql_query("DELETE FROM message_grams WHERE message_id = ANY($1)")
            .bind::<Array<BigInt>, _>(&ids)
            .execute(c)?;
        insert_grams_pg(c, &reindexed)?;
        diesel::sql_query("DELETE FROM search_reindex WHERE message_id = ANY($1)")
            .bind::<Array<BigInt>, _>(&ids)
            .execute(c)?;
    } else {
        c.batch_execute(
            "DELETE FROM search_reindex WHERE message_id NOT IN (SELECT id FROM messages)",
        )?;
    }
    let rows: Vec<Unindexed> = diesel::sql_query(
        "SELECT id, message_type, content, file_name FROM messages WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind::<BigInt, _>(mark)
    .bind::<BigInt, _>(BATCH)
    .load(c)?;
    insert_grams_pg(c, &rows)?;
    if let Some(last) = rows.last() {
        diesel::sql_query("UPDATE search_index_state SET indexed_up_to = $1 WHERE name = 'grams'")
            .bind::<BigInt, _>(last.id)
            .execute(c)?;
    }
    Ok(rows.len() + reindexed.len())
}

/// Inserts the grams of `rows` in one statement (grams hold no whitespace,
/// so a space separates them on the way in).
fn insert_grams_pg(c: &mut PgConnection, rows: &[Unindexed]) -> Result<(), StoreError> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut lists = Vec::with_capacity(rows.len());
    for m in rows {
        let grams = message_grams(&m.message_type, &m.content, m.file_name.as_deref());
        if !grams.is_empty() {
            ids.push(m.id);
            lists.push(grams.into_iter().collect::<Vec<_>>().join(" "));
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO message_grams (message_id, grams) \
         SELECT id, string_to_array(grams, ' ') FROM unnest($1::bigint[], $2::text[]) AS t (id, grams)",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<Text>, _>(&lists)
    .execute(c)?;
    Ok(())
}

/// Indexes one batch inside the caller's transaction; answers how many
/// messages it indexed.
pub fn index_batch_in(conn: &mut Conn) -> Result<usize, StoreError> {
    match conn {
        Conn::Sqlite(c) => batch_sqlite(c),
        Conn::Pg(c) => batch_pg(c),
    }
}

/// Indexes everything waiting, inside the caller's transaction (tests and
/// tools; the server leaves it to its writer).
pub fn index_all_in(conn: &mut Conn) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let n = index_batch_in(conn)?;
        total += n;
        if n == 0 {
            return Ok(total);
        }
    }
}

/// Indexes one batch in a transaction of its own, if anything waits;
/// answers whether more may be waiting.
fn index_next_batch(conn: &mut Conn) -> Result<bool, StoreError> {
    if !pending(conn)? {
        return Ok(false);
    }
    let n = match conn {
        Conn::Sqlite(c) => c.immediate_transaction(batch_sqlite)?,
        Conn::Pg(c) => c.transaction(batch_pg)?,
    };
    Ok(n as i64 >= BATCH)
}

/// The writer thread's indexer: a batch after every committed batch of
/// writes, and while behind (or once in a while), whenever no write waits.
#[derive(Debug)]
pub(crate) struct Indexer {
    behind: bool,
}

impl Indexer {
    /// Starts behind: the first idle moment looks for work (a backfill
    /// after a migration, messages of a node that stopped).
    pub(crate) fn new() -> Self {
        Self { behind: true }
    }

    /// The next write to run, indexing while none waits and there is
    /// something to index; `None` once every sender is gone.
    pub(crate) fn next_job<T>(&mut self, queue: &Receiver<T>, conn: &mut Conn) -> Option<T> {
        loop {
            if self.behind {
                match queue.try_recv() {
                    Ok(job) => return Some(job),
                    Err(TryRecvError::Disconnected) => return None,
                    Err(TryRecvError::Empty) => self.run(conn),
                }
            } else {
                match queue.recv_timeout(IDLE_CHECK) {
                    Ok(job) => return Some(job),
                    Err(RecvTimeoutError::Disconnected) => return None,
                    Err(RecvTimeoutError::Timeout) => self.run(conn),
                }
            }
        }
    }

    /// After a batch of writes committed (and its callers were answered).
    pub(crate) fn after_commit(&mut self, conn: &mut Conn) {
        self.run(conn);
    }

    fn run(&mut self, conn: &mut Conn) {
        self.behind = match index_next_batch(conn) {
            Ok(more) => more,
            Err(e) => {
                // Retried at the next commit or idle check; searches miss
                // the newest messages meanwhile.
                tracing::warn!(error = %e, "indexing messages for search failed");
                false
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grams(text: &str) -> Vec<String> {
        message_grams("text", text, None).into_iter().collect()
    }

    #[test]
    fn grams_are_folded_distinct_and_never_span_whitespace() {
        assert_eq!(grams("有货 有"), ["有", "有货", "货"]);
        assert_eq!(grams("AbA"), ["a", "ab", "b", "ba"]);
        assert_eq!(grams("%_"), ["%", "%_", "_"]);
        assert_eq!(grams("a b"), ["a", "b"]);
        assert!(grams("   ").is_empty());
        // Another type's content (a media path) is not searchable; a file
        // name is.
        let file: Vec<String> = message_grams("file", "/media/x.pdf", Some("Q1"))
            .into_iter()
            .collect();
        assert_eq!(file, ["1", "q", "q1"]);
    }

    #[test]
    fn short_queries_fold_like_the_grams() {
        assert_eq!(short_gram("Ab").as_deref(), Some("ab"));
        assert_eq!(short_gram("货").as_deref(), Some("货"));
        assert_eq!(short_gram("ÉÀ").as_deref(), Some("éà"));
        assert_eq!(short_gram("abc"), None);
        assert_eq!(short_gram(""), None);
        assert_eq!(token("货"), "e8b4a7");
        assert_eq!(token_query("\""), "\"22\"");
    }
}
