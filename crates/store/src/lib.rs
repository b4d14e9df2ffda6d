//! Storage of livechat: Diesel over SQLite (bundled, so a fresh machine
//! needs no system library; one writer and a pool of readers) or
//! PostgreSQL (`postgres://…`; one pool), with embedded migrations for
//! each. Query functions take a `&mut Conn`, either kind, so they compose
//! inside one transaction.

/// Runs a test body (a function of the backend) on SQLite and on
/// PostgreSQL: `sqlite` and `postgres` tests in a module named after it.
/// The PostgreSQL variant fails when the server does not answer, unless
/// `LIVECHAT_SKIP_POSTGRES=1`.
#[cfg(test)]
macro_rules! on_both_backends {
    ($(#[$doc:meta])* fn $name:ident($backend:ident) $body:block) => {
        $(#[$doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($backend: $crate::testing::Backend) $body

            #[test]
            fn sqlite() {
                run($crate::testing::Backend::Sqlite)
            }

            #[test]
            fn postgres() {
                if $crate::testing::skip_postgres() {
                    eprintln!("skipped: LIVECHAT_SKIP_POSTGRES=1");
                    return;
                }
                run($crate::testing::Backend::Postgres)
            }
        }
    };
}
#[cfg(test)]
pub(crate) use on_both_backends;

pub mod api_keys;
pub mod audit;
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
pub mod search_index;
pub mod stats;
pub mod testing;
pub mod transfer;
pub mod uploads;
pub mod users;
pub mod webhooks;

pub use db::{Conn, Db};
pub use error::StoreError;

/// A fresh database on `backend` with the demo data (kept alive by the
/// returned guard, which must outlive the `Db`), for the store's own tests.
#[cfg(test)]
pub(crate) fn demo_db(backend: testing::Backend) -> (testing::TestDatabase, Db) {
    let guard = testing::TestDatabase::new(backend);
    let db = Db::open(&guard.url(), 2).unwrap();
    db.write_blocking(demo::seed).unwrap();
    (guard, db)
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
