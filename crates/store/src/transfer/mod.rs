//! Copying an installation's data from SQLite to PostgreSQL, keeping every
//! id (the `migrate-data` binary).
//!
//! - The target is migrated first (the PostgreSQL migrations) and must be
//!   empty: a copy never merges into existing data.
//! - The source is read inside one read transaction, so the copy is one
//!   consistent snapshot even while the server goes on writing (WAL lets
//!   it); rows are read in key order, a batch at a time, so memory stays
//!   flat however many messages there are. The source is never written
//!   (`PRAGMA query_only`).
//! - The target is written inside one transaction: all or nothing. A copy
//!   that fails leaves the target migrated and empty, so running it again
//!   is the whole resume story.
//! - Every table is read back from the target before the commit and
//!   compared with what was read from the source: rows, the largest id,
//!   the sum of ids and a checksum over every row's content. Then each
//!   PostgreSQL sequence is set past the highest id the source ever gave
//!   out (SQLite's `sqlite_sequence` remembers ids of deleted rows too), so
//!   new rows get fresh ids.
//!
//! Each table is one small function in [`TABLES`], in an order that
//! satisfies the foreign keys; a table the migrations create and the list
//! lacks stops the copy before it starts (and fails the tests).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use thiserror::Error;

use crate::db::{Conn, Target, MIGRATIONS, PG_MIGRATIONS};
use crate::schema::{
    api_keys, audit_log, conversations, messages, orders, participants, quick_replies, uploads,
    users, webhook_attempts, webhook_deliveries, webhooks,
};

/// Rows read per query, unless [`Options::batch_size`] says otherwise.
pub const DEFAULT_BATCH_SIZE: i64 = 1000;

/// Diesel's own bookkeeping: migrated on each side, never copied.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// Why a copy did not happen. Nothing was written to the target in any
/// case (it may have been migrated).
#[derive(Debug, Error)]
pub enum TransferError {
    /// The arguments name the wrong kind of database.
    #[error("{0}")]
    Usage(String),
    /// The databases are not in a state to copy (a non-empty target, a
    /// missing source, migrations that do not match); the message says
    /// what to do.
    #[error("{0}")]
    Refused(String),
    /// Reading, writing or verifying failed; the target's transaction was
    /// rolled back.
    #[error("{0}")]
    Failed(String),
}

impl From<diesel::result::Error> for TransferError {
    fn from(e: diesel::result::Error) -> Self {
        TransferError::Failed(format!("database error: {e}"))
    }
}

/// How to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Rows read and written per query.
    pub batch_size: i64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// What a copy reports while it runs (before the commit).
#[derive(Debug)]
pub enum Progress<'a> {
    /// A large table's rows copied so far.
    Rows {
        /// The table.
        table: &'static str,
        /// Rows copied so far.
        rows: u64,
    },
    /// A table copied and verified.
    Table(&'a TableReport),
}

/// One table as copied and verified: source and target agree on all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Rows copied.
    pub rows: u64,
    /// The largest id, for tables keyed by a number.
    pub max_id: Option<i64>,
    /// The sum of the ids, for tables keyed by a number.
    pub id_sum: Option<i128>,
    /// Sum of the rows' content hashes (order-independent).
    pub checksum: u64,
    /// The id the target's sequence gives the next new row, for tables
    /// with one.
    pub next_id: Option<i64>,
}

/// A committed copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    /// Every table, in copy order.
    pub tables: Vec<TableReport>,
}

impl TransferReport {
    /// The table's report, by name.
    pub fn table(&self, name: &str) -> Option<&TableReport> {
        self.tables.iter().find(|t| t.table == name)
    }

    /// A per-table summary, one line each, for people.
    pub fn summary(&self) -> String {
        let dash = || "-".to_string();
        let mut out = format!(
            "{:<16} {:>10} {:>12} {:>20} {:>16} {:>12}\n",
            "table", "rows", "max id", "id sum", "checksum", "next id"
        );
        for t in &self.tables {
            out.push_str(&format!(
                "{:<16} {:>10} {:>12} {:>20} {:>16x} {:>12}\n",
                t.table,
                t.rows,
                t.max_id.map_or_else(dash, |v| v.to_string()),
                t.id_sum.map_or_else(dash, |v| v.to_string()),
                t.checksum,
                t.next_id.map_or_else(dash, |v| v.to_string()),
            ));
        }
        out
    }
}

/// How one table is copied.
pub struct TableCopy {
    /// The table's name.
    pub name: &'static str,
    copy: fn(&mut Session<'_>, &'static str) -> Result<TableReport, TransferError>,
}

/// Every table of the schema, in an order that satisfies the foreign keys
/// (users before what names them, uploads before messages, conversations
/// in id order so a mediation group follows what it mediates). A new
/// table is one entry here and one function below.
pub const TABLES: &[TableCopy] = &[
    TableCopy {
        name: "users",
        copy: copy_users,
    },
    TableCopy {
        name: "uploads",
        copy: copy_uploads,
    },
    TableCopy {
        name: "orders",
        copy: copy_orders,
    },
    TableCopy {
        name: "conversations",
        copy: copy_conversations,
    },
    TableCopy {
        name: "participants",
        copy: copy_participants,
    },
    TableCopy {
        name: "messages",
        copy: copy_messages,
    },
    TableCopy {
        name: "quick_replies",
        copy: copy_quick_replies,
    },
    TableCopy {
        name: "api_keys",
        copy: copy_api_keys,
    },
    TableCopy {
        name: "audit_log",
        copy: copy_audit_log,
    },
    TableCopy {
        name: "webhooks",
        copy: copy_webhooks,
    },
    TableCopy {
        name: "webhook_deliveries",
        copy: copy_webhook_deliveries,
    },
    TableCopy {
        name: "webhook_attempts",
        copy: copy_webhook_attempts,
    },
];

/// Rows exactly as stored, every column in `schema.rs` order (Queryable
/// by position: a column added to the schema and not here fails to
/// compile). Values are copied as they are, not read through the domain's
/// types, so nothing is lost or rewritten on the way.
mod rows {
    use diesel::prelude::*;

    use crate::schema::{
        api_keys, audit_log, conversations, messages, orders, participants, quick_replies, uploads,
        users, webhook_attempts, webhook_deliveries, webhooks,
    };

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = webhooks)]
    pub struct Webhook {
        pub id: i64,
        pub url: String,
        pub events: String,
        pub secret: String,
        pub enabled: bool,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = webhook_deliveries)]
    pub struct WebhookDelivery {
        pub id: i64,
        pub webhook_id: i64,
        pub event_id: String,
        pub event_type: String,
        pub subject_id: Option<i64>,
        pub payload: Option<String>,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub claimed_by: Option<String>,
        pub claimed_until: Option<i64>,
        pub delivered_at: Option<i64>,
        pub last_status: Option<i32>,
        pub last_error: Option<String>,
        pub created_at: i64,
        pub gave_up_at: Option<i64>,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = webhook_attempts)]
    pub struct WebhookAttempt {
        pub id: i64,
        pub delivery_id: i64,
        pub attempted_at: i64,
        pub status: Option<i32>,
        pub error: Option<String>,
        pub duration_ms: i64,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = api_keys)]
    pub struct ApiKey {
        pub id: String,
        pub name: String,
        pub scopes: String,
        pub secret_hash: String,
        pub created_at: i64,
        pub created_by: Option<String>,
        pub last_used_at: Option<i64>,
        pub revoked_at: Option<i64>,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = audit_log)]
    pub struct Audit {
        pub id: i64,
        pub actor_kind: String,
        pub actor_id: Option<String>,
        pub action: String,
        pub target: Option<String>,
        pub details: String,
        pub at: i64,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = users)]
    pub struct User {
        pub id: String,
        pub username: String,
        pub role: String,
        pub avatar: Option<String>,
        pub description: Option<String>,
        pub status: String,
        pub password_hash: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = uploads)]
    pub struct Upload {
        pub id: String,
        pub user_id: String,
        pub kind: String,
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

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = orders)]
    pub struct Order {
        pub order_no: String,
        pub buyer_id: String,
        pub merchant_id: String,
        pub title: String,
        pub amount_cents: i64,
        pub product_count: i32,
        pub product_image: Option<String>,
        pub status: String,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = conversations)]
    pub struct Conversation {
        pub id: i64,
        pub kind: String,
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

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = participants)]
    pub struct Participant {
        pub conversation_id: i64,
        pub user_id: String,
        pub role: String,
        pub last_read_message_id: i64,
        pub unread_count: i32,
        pub joined_at: i64,
        pub visible_after_id: i64,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = messages)]
    pub struct Message {
        pub id: i64,
        pub conversation_id: i64,
        pub sender_id: String,
        pub message_type: String,
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
        pub recalled_at: Option<i64>,
        pub call_record: Option<String>,
        pub call_outcome: Option<String>,
        pub counts_unread: bool,
        pub created_at: i64,
    }

    #[derive(Debug, Queryable, Insertable, Hash)]
    #[diesel(table_name = quick_replies)]
    pub struct QuickReply {
        pub id: i64,
        pub user_id: String,
        pub content: String,
        pub position: i32,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

/// How to read, count and write one table: rows of type `R` in the order
/// of their key `K`, a batch after a key at a time.
struct Table<R, K> {
    /// A row's key, the point the next batch starts after.
    key: fn(&R) -> K,
    /// A row's numeric id, for tables keyed by one.
    id: fn(&R) -> Option<i64>,
    /// Rows in the table.
    count: fn(&mut Conn) -> QueryResult<i64>,
    /// Up to `n` rows with keys after the given one (all from the start
    /// when `None`), in key order.
    read: fn(&mut Conn, Option<&K>, i64) -> QueryResult<Vec<R>>,
    /// Inserts rows as they are.
    write: fn(&mut PgConnection, &[R]) -> QueryResult<usize>,
}

/// The copy of a table keyed by a numeric `id`, read in id order.
macro_rules! copy_by_number {
    ($copy:ident, $table:ident, $row:ident) => {
        fn $copy(s: &mut Session<'_>, name: &'static str) -> Result<TableReport, TransferError> {
            s.copy(
                name,
                Table {
                    key: |r: &rows::$row| r.id,
                    id: |r| Some(r.id),
                    count: |c| $table::table.count().get_result(c),
                    read: |c, after, n| {
                        $table::table
                            .filter($table::id.gt(after.copied().unwrap_or(i64::MIN)))
                            .order($table::id)
                            .limit(n)
                            .load(c)
                    },
                    write: |pg, rows| diesel::insert_into($table::table).values(rows).execute(pg),
                },
            )
        }
    };
}

/// The copy of a table keyed by a text column, read in that column's order.
macro_rules! copy_by_text {
    ($copy:ident, $table:ident, $row:ident, $key:ident) => {
        fn $copy(s: &mut Session<'_>, name: &'static str) -> Result<TableReport, TransferError> {
            s.copy(
                name,
                Table {
                    key: |r: &rows::$row| r.$key.clone(),
                    id: |_| None,
                    count: |c| $table::table.count().get_result(c),
                    read: |c, after, n| match after {
                        None => $table::table.order($table::$key).limit(n).load(c),
                        Some(k) => $table::table
                            .filter($table::$key.gt(k))
                            .order($table::$key)
                            .limit(n)
                            .load(c),
                    },
                    write: |pg, rows| diesel::insert_into($table::table).values(rows).execute(pg),
                },
            )
        }
    };
}

copy_by_text!(copy_users, users, User, id);
copy_by_text!(copy_uploads, uploads, Upload, id);
copy_by_text!(copy_orders, orders, Order, order_no);
copy_by_text!(copy_api_keys, api_keys, ApiKey, id);
copy_by_number!(copy_conversations, conversations, Conversation);
// Messages, with everything search needs: on PostgreSQL that is the row
// itself (pg_trgm's indexes on `messages` fill as rows arrive); SQLite's
// FTS5 index is derived data and is not copied.
copy_by_number!(copy_messages, messages, Message);
copy_by_number!(copy_quick_replies, quick_replies, QuickReply);
copy_by_number!(copy_audit_log, audit_log, Audit);
copy_by_number!(copy_webhooks, webhooks, Webhook);
copy_by_number!(copy_webhook_deliveries, webhook_deliveries, WebhookDelivery);
copy_by_number!(copy_webhook_attempts, webhook_attempts, WebhookAttempt);

fn copy_participants(
    s: &mut Session<'_>,
    name: &'static str,
) -> Result<TableReport, TransferError> {
    use participants::{conversation_id, user_id};
    s.copy(
        name,
        Table {
            key: |r: &rows::Participant| (r.conversation_id, r.user_id.clone()),
            id: |_| None,
            count: |c| participants::table.count().get_result(c),
            read: |c, after, n| match after {
                None => participants::table
                    .order((conversation_id, user_id))
                    .limit(n)
                    .load(c),
                Some((cid, uid)) => participants::table
                    .filter(
                        conversation_id
                            .gt(*cid)
                            .or(conversation_id.eq(*cid).and(user_id.gt(uid))),
                    )
                    .order((conversation_id, user_id))
                    .limit(n)
                    .load(c),
            },
            write: |pg, rows| {
                diesel::insert_into(participants::table)
                    .values(rows)
                    .execute(pg)
            },
        },
    )
}

/// What was seen of a table's rows on one side.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    rows: u64,
    max_id: Option<i64>,
    id_sum: i128,
    checksum: u64,
}

impl Tally {
    fn add(&mut self, id: Option<i64>, row: &impl Hash) {
        self.rows += 1;
        if let Some(id) = id {
            self.max_id = Some(self.max_id.map_or(id, |m| m.max(id)));
            self.id_sum += i128::from(id);
        }
        // Fixed keys: every hasher of this process hashes alike, so the
        // same row read from either side hashes the same.
        let mut h = DefaultHasher::new();
        row.hash(&mut h);
        self.checksum = self.checksum.wrapping_add(h.finish());
    }
}

/// Rows copied between progress reports for one table.
const PROGRESS_EVERY: u64 = 100_000;

/// One copy in progress: the source inside its read transaction, the
/// target inside its write transaction.
struct Session<'a> {
    source: &'a mut Conn,
    target: &'a mut Conn,
    batch: i64,
    progress: &'a mut dyn FnMut(Progress<'_>),
}

impl Session<'_> {
    fn copy<R: Hash, K>(
        &mut self,
        name: &'static str,
        table: Table<R, K>,
    ) -> Result<TableReport, TransferError> {
        let failed = |what: &'static str| {
            move |e: diesel::result::Error| TransferError::Failed(format!("{name}: {what}: {e}"))
        };
        let expected = (table.count)(self.source).map_err(failed("counting the source's rows"))?;
        let mut copied = Tally::default();
        let mut after: Option<K> = None;
        let mut reported = 0;
        loop {
            let rows = (table.read)(self.source, after.as_ref(), self.batch)
                .map_err(failed("reading the source"))?;
            let Some(last) = rows.last() else { break };
            after = Some((table.key)(last));
            for row in &rows {
                copied.add((table.id)(row), row);
            }
            (table.write)(pg(self.target)?, &rows).map_err(failed("writing the target"))?;
            if copied.rows - reported >= PROGRESS_EVERY {
                reported = copied.rows;
                (self.progress)(Progress::Rows {
                    table: name,
                    rows: copied.rows,
                });
            }
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < self.batch {
                break;
            }
        }
        if i64::try_from(copied.rows).ok() != Some(expected) {
            return Err(TransferError::Failed(format!(
                "{name}: the source holds {expected} rows but {} were read",
                copied.rows
            )));
        }
        // Read everything back and compare, before anything is committed.
        let mut stored = Tally::default();
        let mut after: Option<K> = None;
        loop {
            let rows = (table.read)(self.target, after.as_ref(), self.batch)
                .map_err(failed("reading the target back"))?;
            let Some(last) = rows.last() else { break };
            after = Some((table.key)(last));
            for row in &rows {
                stored.add((table.id)(row), row);
            }
        }
        let counted = (table.count)(self.target).map_err(failed("counting the target's rows"))?;
        if stored != copied || counted != expected {
            return Err(TransferError::Failed(format!(
                "{name}: the target does not hold what was copied: source {copied:?}, target {stored:?} ({counted} rows counted)"
            )));
        }
        let report = TableReport {
            table: name,
            rows: copied.rows,
            max_id: copied.max_id,
            id_sum: copied.max_id.map(|_| copied.id_sum),
            checksum: copied.checksum,
            next_id: None,
        };
        (self.progress)(Progress::Table(&report));
        Ok(report)
    }
}

fn pg(conn: &mut Conn) -> Result<&mut PgConnection, TransferError> {
    match conn {
        Conn::Pg(pg) => Ok(pg),
        Conn::Sqlite(_) => Err(TransferError::Usage(
            "the target must be a PostgreSQL database".into(),
        )),
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct NamedNumber {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Serial {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    sequence: String,
}

/// The tables holding data of their own in a migrated database: every
/// table but the migrations' bookkeeping and the search indexes (on
/// SQLite virtual tables and their shadow tables; the indexer's state and
/// PostgreSQL's `message_grams`, all derived from `messages`: the target's
/// indexer fills its own from the copied messages).
pub fn tables_of(conn: &mut Conn) -> Result<BTreeSet<String>, TransferError> {
    let names: Vec<Name> = match conn {
        Conn::Pg(pg) => diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .load(pg)?,
        Conn::Sqlite(lite) => {
            let virtual_tables: Vec<Name> = diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'",
            )
            .load(lite)?;
            let all: Vec<Name> = diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )
            .load(lite)?;
            all.into_iter()
                .filter(|t| {
                    !virtual_tables
                        .iter()
                        .any(|v| t.name == v.name || t.name.starts_with(&format!("{}_", v.name)))
                })
                .collect()
        }
    };
    Ok(names
        .into_iter()
        .map(|n| n.name)
        .filter(|n| {
            n != MIGRATIONS_TABLE && !crate::search_index::DERIVED_TABLES.contains(&n.as_str())
        })
        .collect())
}

/// Checks that [`TABLES`] copies exactly the tables `conn` holds: names a
/// table nobody copies, or an entry for a table that is not there.
pub fn check_coverage(conn: &mut Conn, side: &str) -> Result<(), TransferError> {
    let present = tables_of(conn)?;
    let listed: BTreeSet<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
    let uncopied: Vec<&String> = present.difference(&listed).collect();
    let missing: Vec<&String> = listed.difference(&present).collect();
    if uncopied.is_empty() && missing.is_empty() {
        return Ok(());
    }
    let mut problems = Vec::new();
    if !uncopied.is_empty() {
        problems.push(format!(
            "the {side} has tables this migrate-data does not copy: {}",
            join(&uncopied)
        ));
    }
    if !missing.is_empty() {
        problems.push(format!("the {side} lacks tables: {}", join(&missing)));
    }
    Err(TransferError::Refused(format!(
        "{}; use the migrate-data of the livechat version that runs the server",
        problems.join("; ")
    )))
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn known_versions<DB: diesel::backend::Backend>(
    source: &impl MigrationSource<DB>,
) -> Result<BTreeSet<String>, TransferError> {
    let migrations = source
        .migrations()
        .map_err(|e| TransferError::Failed(format!("cannot list the built-in migrations: {e}")))?;
    Ok(migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .collect())
}

fn applied_versions(conn: &mut Conn) -> Result<BTreeSet<String>, TransferError> {
    let rows: Vec<Name> =
        diesel::sql_query(format!("SELECT version AS name FROM {MIGRATIONS_TABLE}")).load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// Opens the source read-only (it must be a SQLite file holding a livechat
/// database, migrated by this version).
fn open_source(path: &str) -> Result<Conn, TransferError> {
    let file = Path::new(path);
    if !file.is_file() {
        return Err(TransferError::Refused(format!(
            "--from: there is no SQLite database at {path}"
        )));
    }
    let mut header = [0u8; 16];
    let is_sqlite = std::fs::File::open(file)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
        .is_ok()
        && &header == b"SQLite format 3\0";
    if !is_sqlite {
        return Err(TransferError::Refused(format!(
            "--from: {path} is not a SQLite database"
        )));
    }
    let mut lite = SqliteConnection::establish(path)
        .map_err(|e| TransferError::Failed(format!("--from: cannot open {path}: {e}")))?;
    // Never write to the source; wait for a busy writer rather than fail.
    lite.batch_execute("PRAGMA query_only = ON; PRAGMA busy_timeout = 10000;")
        .map_err(|e| TransferError::Failed(format!("--from: cannot read {path}: {e}")))?;
    let mut conn = Conn::Sqlite(lite);
    let bookkept: i64 = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{MIGRATIONS_TABLE}'"
    ))
    .get_result::<Number>(&mut conn)
    .map_err(|e| TransferError::Failed(format!("--from: cannot read {path}: {e}")))?
    .n;
    if bookkept == 0 {
        return Err(TransferError::Refused(format!(
            "--from: {path} is not a livechat database (it records no migrations)"
        )));
    }
    let applied = applied_versions(&mut conn)?;
    let known = known_versions::<diesel::sqlite::Sqlite>(&MIGRATIONS)?;
    let unknown: Vec<&String> = applied.difference(&known).collect();
    if !unknown.is_empty() {
        return Err(TransferError::Refused(format!(
            "--from: {path} has migrations this migrate-data does not know ({}); use the migrate-data of the livechat version that wrote it",
            join(&unknown)
        )));
    }
    let pending: Vec<&String> = known.difference(&applied).collect();
    if !pending.is_empty() {
        return Err(TransferError::Refused(format!(
            "--from: {path} lacks migrations {} (an older livechat wrote it): back it up, start this version's livechat-server on it once (it migrates at start-up), then run migrate-data again",
            join(&pending)
        )));
    }
    check_coverage(&mut conn, "source")?;
    Ok(conn)
}

/// Connects to the target and runs the PostgreSQL migrations on it.
fn open_target(url: &str) -> Result<Conn, TransferError> {
    let pg = PgConnection::establish(url).map_err(|e| {
        TransferError::Failed(format!(
            "--to: cannot connect to PostgreSQL: {} (the database must exist: create it with `createdb -O <user> <name>`)",
            e.to_string().trim_end()
        ))
    })?;
    let mut conn = Conn::Pg(pg);
    crate::db::migrate(&mut conn).map_err(|e| TransferError::Failed(format!("--to: {e}")))?;
    let applied = applied_versions(&mut conn)?;
    let known = known_versions::<diesel::pg::Pg>(&PG_MIGRATIONS)?;
    let unknown: Vec<&String> = applied.difference(&known).collect();
    if !unknown.is_empty() {
        return Err(TransferError::Refused(format!(
            "--to: the database has migrations this migrate-data does not know ({}): a newer livechat migrated it; copy into a fresh database",
            join(&unknown)
        )));
    }
    check_coverage(&mut conn, "target")?;
    Ok(conn)
}

/// Refuses a target holding any row (after locking every table against
/// writers, so nothing can slip in before the commit).
fn check_empty(target: &mut PgConnection) -> Result<(), TransferError> {
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    target.batch_execute(&format!(
        "LOCK TABLE {} IN EXCLUSIVE MODE",
        names.join(", ")
    ))?;
    let mut filled = Vec::new();
    for name in names {
        let n = diesel::sql_query(format!("SELECT count(*) AS n FROM {name}"))
            .get_result::<Number>(target)?
            .n;
        if n > 0 {
            filled.push(format!("{name}: {n} rows"));
        }
    }
    if filled.is_empty() {
        return Ok(());
    }
    Err(TransferError::Refused(format!(
        "--to: the target database is not empty ({}); migrate-data copies into a fresh database only. \
         Make one with `createdb -O <user> livechat_new` (or `dropdb <name> && createdb -O <user> <name>` \
         once you are sure the data there is not needed) and point --to at it",
        filled.join(", ")
    )))
}

/// Sets every sequence of the target past the highest id its table holds
/// and past the highest id SQLite ever gave out for it (deleted rows'
/// ids are never handed out again). Answers each table's next id.
fn reset_sequences(
    source: &mut Conn,
    target: &mut PgConnection,
) -> Result<BTreeMap<String, i64>, TransferError> {
    let given_out: BTreeMap<String, i64> =
        diesel::sql_query("SELECT name, seq AS n FROM sqlite_sequence")
            .load::<NamedNumber>(source)?
            .into_iter()
            .map(|r| (r.name, r.n))
            .collect();
    let serials: Vec<Serial> = diesel::sql_query(
        "SELECT table_name, column_name, sequence FROM ( \
             SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                    pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) AS sequence \
             FROM information_schema.columns c WHERE c.table_schema = current_schema() \
         ) s WHERE sequence IS NOT NULL",
    )
    .load(target)?;
    let mut next = BTreeMap::new();
    for s in serials {
        let highest = diesel::sql_query(format!(
            "SELECT COALESCE(MAX({}), 0)::bigint AS n FROM {}",
            quote_ident(&s.column_name),
            quote_ident(&s.table_name)
        ))
        .get_result::<Number>(target)?
        .n;
        let id = highest.max(given_out.get(&s.table_name).copied().unwrap_or(0)) + 1;
        diesel::sql_query("SELECT setval($1::regclass, $2, false)")
            .bind::<Text, _>(&s.sequence)
            .bind::<BigInt, _>(id)
            .execute(target)?;
        next.insert(s.table_name, id);
    }
    Ok(next)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Copies every table from the SQLite database at `from` into the
/// PostgreSQL database at `to` (migrated here first; it must be empty),
/// verifies it and commits, as the module's documentation describes.
/// `progress` hears of each table as it is verified (before the commit).
pub fn migrate_data(
    from: &str,
    to: &str,
    options: &Options,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<TransferReport, TransferError> {
    let source_path = match Target::parse(from) {
        Ok(Target::Sqlite(path)) => path,
        Ok(Target::Pg(_)) => {
            return Err(TransferError::Usage(
                "--from must be a SQLite database (sqlite://PATH); it names a PostgreSQL one"
                    .into(),
            ))
        }
        Err(_) => {
            let scheme = from.split_once("://").map_or(from, |(s, _)| s);
            return Err(TransferError::Usage(format!(
                "--from must be a SQLite database (sqlite://PATH), not `{scheme}://…`"
            )));
        }
    };
    let target_url = match Target::parse(to) {
        Ok(Target::Pg(url)) => url,
        _ => return Err(TransferError::Usage(
            "--to must be a PostgreSQL database (postgres://user[:password]@host[:port]/database)"
                .into(),
        )),
    };
    if options.batch_size < 1 {
        return Err(TransferError::Usage(
            "--batch-size must be at least 1".into(),
        ));
    }
    let mut source = open_source(&source_path).map_err(|e| match e {
        TransferError::Refused(m) if !Path::new(&source_path).exists() && from.contains(":///") => {
            TransferError::Refused(format!(
                "{m} (sqlite:///x names a path relative to here; an absolute one is sqlite:////var/lib/x.db)"
            ))
        }
        other => other,
    })?;
    let mut target = open_target(&target_url)?;
    // One snapshot of the source (a deferred transaction that only reads)
    // and one transaction on the target: all or nothing.
    source.transaction(|source| {
        target.transaction(|target| {
            check_empty(pg(target)?)?;
            let mut session = Session {
                source,
                target,
                batch: options.batch_size,
                progress,
            };
            let mut tables = Vec::with_capacity(TABLES.len());
            for table in TABLES {
                tables.push((table.copy)(&mut session, table.name)?);
            }
            let next = reset_sequences(session.source, pg(session.target)?)?;
            for t in &mut tables {
                t.next_id = next.get(t.table).copied();
            }
            Ok(TransferReport { tables })
        })
    })
}

#[cfg(test)]
mod tests;
