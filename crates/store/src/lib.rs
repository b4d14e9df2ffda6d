//! Storage of livechat: Diesel over SQLite (bundled, so a fresh machine
//! needs no system library), embedded migrations, one writer and a pool of
//! readers. Query functions take a `&mut Conn`, so they compose inside one
//! transaction.

pub mod backup;
pub mod columns;
pub mod conversations;
pub mod db;
pub mod demo;
pub mod error;
pub mod messages;
pub mod models;
pub mod orders;
pub mod quick_replies;
pub mod schema;
pub mod stats;
pub mod uploads;
pub mod users;

pub use db::{Conn, Db};
pub use error::StoreError;

/// A fresh database with the demo data in a temporary folder (kept alive
/// by the returned guard), for the store's own tests.
#[cfg(test)]
pub(crate) fn demo_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db").display().to_string(), 1).unwrap();
    db.write_blocking(demo::seed).unwrap();
    (dir, db)
}

/// b1's conversation with m1, opened inside a test's write.
#[cfg(test)]
pub(crate) fn b1_m1(c: &mut Conn) -> Result<models::ConversationRow, StoreError> {
    let sides = livechat_domain::Sides {
        customer_id: "b1".into(),
        agent_id: "m1".into(),
    };
    Ok(conversations::get_or_create(c, &sides, "b1", 1)?.0.row)
}
