//! Storage of livechat: Diesel over SQLite (bundled, so a fresh machine
//! needs no system library), embedded migrations, one writer and a pool of
//! readers. Query functions take a `&mut Conn`, so they compose inside one
//! transaction.

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
