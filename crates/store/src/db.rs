//! The connection pool, per-connection pragmas, migrations and the bridge
//! from async handlers to blocking Diesel calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::StoreError;

/// Migrations compiled into the binary; run at start-up.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The connection type every query takes.
pub type Conn = SqliteConnection;

/// Pragmas set on every connection: WAL lets readers run beside the writer,
/// `busy_timeout` makes a rare collision wait instead of failing, and SQLite
/// leaves foreign keys off unless asked.
#[derive(Debug, Clone, Copy)]
struct Pragmas;

const PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 10000;
PRAGMA temp_store = MEMORY;";

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(PRAGMAS)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Turns the accepted spellings of a SQLite URL into a path: `sqlite://x.db`,
/// `sqlite:///abs/x.db`, the seed's `sqlite+aiosqlite:///./x.db`, or a bare path.
pub fn sqlite_path(url: &str) -> Result<String, StoreError> {
    let rest = if let Some((scheme, rest)) = url.split_once("://") {
        match scheme {
            "sqlite" | "sqlite+aiosqlite" | "sqlite+pysqlite" => rest,
            other => {
                return Err(StoreError::Setup(format!(
                    "database.url: unsupported scheme `{other}` (this build speaks SQLite: use sqlite://path or a bare path)"
                )))
            }
        }
    } else {
        url
    };
    // `sqlite:///./x.db` and `sqlite:///x.db` are relative; `sqlite:////abs` is absolute.
    let path = match rest.strip_prefix('/') {
        Some(p) if p.starts_with('/') => p.to_string(),
        Some(p) if p.starts_with("./") => p.to_string(),
        Some(p) if url.contains(":///") => p.to_string(),
        _ => rest.to_string(),
    };
    if path.is_empty() {
        return Err(StoreError::Setup("database.url: the path is empty".into()));
    }
    Ok(path)
}

/// Handle to the database: a pool of readers and one writer connection.
///
/// All writes go through the single writer, one at a time, so concurrent
/// sends never meet "database is locked" and counters stay exact; reads use
/// the pool and run beside it thanks to WAL.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    writer: Arc<Mutex<SqliteConnection>>,
}

impl Db {
    /// Opens (creating if needed) the database at `url`, runs pending migrations
    /// and builds a pool of `pool_size` readers.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        let path = sqlite_path(url)?;
        if let Some(parent) = std::path::Path::new(&path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Setup(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
        let mut writer = SqliteConnection::establish(&path)
            .map_err(|e| StoreError::Setup(format!("cannot open {path}: {e}")))?;
        writer
            .batch_execute(PRAGMAS)
            .map_err(|e| StoreError::Setup(format!("cannot configure {path}: {e}")))?;
        writer
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| StoreError::Setup(format!("migrations failed: {e}")))?;
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::<SqliteConnection>::new(&path))?;
        Ok(Self {
            pool,
            writer: Arc::new(Mutex::new(writer)),
        })
    }

    /// Runs a read on a pooled connection, off the async threads.
    pub async fn read<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs a write on the writer connection inside an immediate transaction,
    /// off the async threads.
    pub async fn write<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer
                .lock()
                .map_err(|_| StoreError::Task("writer lock poisoned".into()))?;
            conn.immediate_transaction(|c| f(c))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs a write synchronously (command-line tools and start-up).
    pub fn write_blocking<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError>,
    {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Task("writer lock poisoned".into()))?;
        conn.immediate_transaction(|c| f(c))
    }

    /// Runs a read synchronously (command-line tools and start-up).
    pub fn read_blocking<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError>,
    {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            c.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_every_accepted_form() {
        assert_eq!(
            sqlite_path("sqlite://live_chat.db").unwrap(),
            "live_chat.db"
        );
        assert_eq!(
            sqlite_path("sqlite+aiosqlite:///./live_chat.db").unwrap(),
            "./live_chat.db"
        );
        assert_eq!(sqlite_path("sqlite:///data/x.db").unwrap(), "data/x.db");
        assert_eq!(
            sqlite_path("sqlite:////var/lib/x.db").unwrap(),
            "/var/lib/x.db"
        );
        assert_eq!(sqlite_path("/tmp/x.db").unwrap(), "/tmp/x.db");
        assert_eq!(sqlite_path("x.db").unwrap(), "x.db");
        assert!(sqlite_path("postgres://localhost/x").is_err());
        assert!(sqlite_path("sqlite://").is_err());
    }
}
