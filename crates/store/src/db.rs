//! The connection pool, per-connection pragmas, migrations and the bridge
//! from async handlers to blocking Diesel calls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// What the writer thread does for one queued write: runs it (inside the
/// batch's transaction, in a savepoint of its own) and answers a function
/// that delivers its result once the batch has committed, or the commit's
/// failure if it did not.
type Job = Box<dyn FnOnce(&mut SqliteConnection) -> Finish + Send>;
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

/// Most writes committed together.
const MAX_BATCH: usize = 256;

/// Handle to the database: a pool of readers and one writer thread.
///
/// All writes go to one thread that owns the only writing connection. It
/// takes every write waiting in its queue (up to 256), runs them one after
/// the other inside one immediate transaction, each in its own savepoint so
/// that a refused write undoes only itself, commits once, then answers each
/// caller. Concurrent sends therefore never meet "database is locked",
/// counters stay exact, and a burst costs one commit instead of one per
/// message. Reads use the pool and run beside the writer thanks to WAL.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    jobs: std::sync::mpsc::Sender<Job>,
    waits: Arc<PoolWaits>,
}

/// How long reads waited for a pooled connection, since start.
#[derive(Debug, Default)]
struct PoolWaits {
    reads: AtomicU64,
    micros: AtomicU64,
}

/// The read pool's figures, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Reads served since start.
    pub reads: u64,
    /// Their total wait for a connection, in microseconds.
    pub wait_micros: u64,
    /// Connections open now.
    pub connections: u32,
    /// Of which idle.
    pub idle: u32,
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
        let mut writer = open_writer(&path)?;
        writer
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| StoreError::Setup(format!("migrations failed: {e}")))?;
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::<SqliteConnection>::new(&path))?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("livechat-writer".into())
            .spawn(move || run_writer(writer, path, queue))
            .map_err(|e| StoreError::Setup(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            pool,
            jobs,
            waits: Arc::default(),
        })
    }

    /// Runs a read on a pooled connection, off the async threads.
    pub async fn read<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        let waits = self.waits.clone();
        tokio::task::spawn_blocking(move || {
            let asked = Instant::now();
            let mut conn = pool.get()?;
            let waited = u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX);
            waits.reads.fetch_add(1, Ordering::Relaxed);
            waits.micros.fetch_add(waited, Ordering::Relaxed);
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Queues a write for the writer thread and waits for its committed result.
    pub async fn write<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await
            .map_err(|_| StoreError::Task("the writer thread stopped".into()))?
    }

    /// Runs a write synchronously (command-line tools and start-up; never
    /// from inside an async task).
    pub fn write_blocking<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        self.enqueue(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv()
            .map_err(|_| StoreError::Task("the writer thread stopped".into()))?
    }

    fn enqueue<F, R, D>(&self, f: F, deliver: D) -> Result<(), StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
        D: FnOnce(Result<R, StoreError>) + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &mut SqliteConnection| {
            // Nested in the batch's transaction, this is a savepoint.
            let result = conn.transaction(|c| f(c));
            Box::new(move |commit_error: Option<&str>| {
                deliver(match commit_error {
                    None => result,
                    Some(e) => Err(StoreError::Task(format!(
                        "the write was not committed: {e}"
                    ))),
                })
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Task("the writer thread stopped".into()))
    }

    /// Runs a read synchronously (command-line tools and start-up).
    pub fn read_blocking<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError>,
    {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// The read pool's figures since start.
    pub fn pool_stats(&self) -> PoolStats {
        let state = self.pool.state();
        PoolStats {
            reads: self.waits.reads.load(Ordering::Relaxed),
            wait_micros: self.waits.micros.load(Ordering::Relaxed),
            connections: state.connections,
            idle: state.idle_connections,
        }
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

fn open_writer(path: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| StoreError::Setup(format!("cannot open {path}: {e}")))?;
    conn.batch_execute(PRAGMAS)
        .map_err(|e| StoreError::Setup(format!("cannot configure {path}: {e}")))?;
    Ok(conn)
}

/// The writer thread: batches of queued writes, one commit each, until every
/// `Db` handle is gone.
fn run_writer(mut conn: SqliteConnection, path: String, queue: std::sync::mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn.immediate_transaction::<_, diesel::result::Error, _>(|c| {
                for job in batch {
                    finishes.push(job(c));
                }
                Ok(())
            })
        }));
        match outcome {
            Ok(Ok(())) => finishes.into_iter().for_each(|f| f(None)),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a batch of writes failed to commit");
                let e = e.to_string();
                finishes.into_iter().for_each(|f| f(Some(&e)));
            }
            Err(_) => {
                // A write panicked: its batch is lost (its callers see the
                // writer's answer dropped) and the connection may be mid
                // transaction, so start from a fresh one.
                tracing::error!("a write panicked; reopening the writer connection");
                drop(finishes);
                match open_writer(&path) {
                    Ok(fresh) => conn = fresh,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot reopen the writer connection");
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::prelude::*;

    use crate::schema::quick_replies;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batched_writes_commit_together_and_a_refused_one_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("w.db").to_str().unwrap(), 2).unwrap();
        db.write_blocking(crate::demo::seed).unwrap();
        let before: i64 = db
            .read_blocking(|c| Ok(quick_replies::table.count().get_result(c)?))
            .unwrap();
        let writes = (0..100).map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |c| {
                    diesel::insert_into(quick_replies::table)
                        .values((
                            quick_replies::user_id.eq("b1"),
                            quick_replies::content.eq(format!("w{i}")),
                            quick_replies::position.eq(100 + i),
                            quick_replies::created_at.eq(0),
                            quick_replies::updated_at.eq(0),
                        ))
                        .execute(c)?;
                    if i % 10 == 0 {
                        return Err(StoreError::invalid("refused after writing"));
                    }
                    Ok(i)
                })
                .await
            })
        });
        let results: Vec<_> = futures_join(writes).await;
        let refused = results.iter().filter(|r| r.is_err()).count();
        assert_eq!(refused, 10);
        let after: i64 = db
            .read_blocking(|c| Ok(quick_replies::table.count().get_result(c)?))
            .unwrap();
        assert_eq!(after - before, 90, "the refused writes left nothing behind");
        let leaked: i64 = db
            .read_blocking(|c| {
                Ok(quick_replies::table
                    .filter(quick_replies::content.eq("w10"))
                    .count()
                    .get_result(c)?)
            })
            .unwrap();
        assert_eq!(leaked, 0);
    }

    async fn futures_join<T: Send + 'static>(
        handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

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
