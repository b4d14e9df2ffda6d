//! The connection pool, per-connection pragmas, migrations and the bridge
//! from async handlers to blocking Diesel calls, for SQLite (the default,
//! bundled) and PostgreSQL (`postgres://…`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use r2d2::{CustomizeConnection, Pool};

use crate::error::StoreError;

/// SQLite migrations compiled into the binary; run at start-up.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// PostgreSQL migrations, the same steps under the same names.
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The connection type every query takes: SQLite or PostgreSQL. Queries
/// written with Diesel's DSL run on both; the few whose SQL must differ
/// match on the variant.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    /// A SQLite database file.
    Sqlite(SqliteConnection),
    /// A PostgreSQL server.
    Pg(PgConnection),
}

impl Conn {
    /// Whether this is a PostgreSQL connection.
    pub fn is_pg(&self) -> bool {
        matches!(self, Conn::Pg(_))
    }
}

/// The key of the session-level advisory lock held while migrations run,
/// so that nodes starting together migrate once, one after the other.
const MIGRATION_LOCK: i64 = 0x6c69_7665_6d69_6772; // "livemigr"

/// The key of the transaction-level advisory lock that orders message ids
/// on PostgreSQL (see [`lock_message_order`]).
const MESSAGE_ORDER_LOCK: i64 = 0x6c69_7665_6d73_6773; // "livemsgs"

/// On PostgreSQL, waits for and takes the transaction-level lock that
/// serializes the writes which assign message ids or count against them
/// (sends, recalls, read marks, joins), and the few check-then-insert
/// writes that must not race (a pair's direct conversation, an order, the
/// demo data). A sequence hands out ids at insert
/// time, not at commit: without the lock, a send that took id 11 could
/// commit after one that took id 12, and a reader who already saw 12 (and
/// asks for what comes after it) would never see 11. Holding the lock from
/// before the insert until the commit makes ids visible in commit order,
/// keeps unread recounts exact against concurrent sends, and lets a
/// concurrent retry of the same `client_msg_id` find the first message.
/// SQLite needs nothing: its one writer thread already serializes writes.
pub fn lock_message_order(conn: &mut Conn) -> Result<(), StoreError> {
    if let Conn::Pg(pg) = conn {
        pg.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({MESSAGE_ORDER_LOCK})"
        ))?;
    }
    Ok(())
}

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

impl CustomizeConnection<Conn, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        match conn {
            Conn::Sqlite(c) => c
                .batch_execute(PRAGMAS)
                .map_err(diesel::r2d2::Error::QueryError),
            Conn::Pg(_) => Ok(()),
        }
    }
}

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file at this path.
    Sqlite(String),
    /// A PostgreSQL server at this URL.
    Pg(String),
}

impl Target {
    /// Reads `database.url`: `postgres://…` or `postgresql://…` for
    /// PostgreSQL, anything [`sqlite_path`] accepts for SQLite.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target::Pg(url.to_string()))
        } else {
            sqlite_path(url).map(Target::Sqlite)
        }
    }

    fn connect(&self) -> Result<Conn, StoreError> {
        match self {
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(|e| StoreError::Setup(format!("cannot open {path}: {e}")))?;
                conn.batch_execute(PRAGMAS)
                    .map_err(|e| StoreError::Setup(format!("cannot configure {path}: {e}")))?;
                Ok(Conn::Sqlite(conn))
            }
            Target::Pg(url) => PgConnection::establish(url)
                .map(Conn::Pg)
                .map_err(|e| StoreError::Setup(format!("cannot connect to PostgreSQL: {e}"))),
        }
    }
}

/// Counts the connections being opened, and refuses new ones once the
/// store is closing.
///
/// The pool opens connections on threads of its own, in the background:
/// whenever a connection is checked out it starts opening another to keep
/// one idle. A process that returns from `main` while one of those threads
/// is in the middle of libpq's TLS handshake runs OpenSSL's exit handlers
/// under that thread's feet, and dies of SIGSEGV after its work is done
/// (a command-line tool that printed "created" then exits with signal 11).
/// [`Db::close`] therefore stops new connects and waits for those in
/// flight before the process may exit.
#[derive(Debug, Default)]
struct ConnectGate {
    state: std::sync::Mutex<GateState>,
    settled: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    closing: bool,
    in_flight: usize,
}

impl ConnectGate {
    /// Registers a connect about to start; `false` once closing.
    fn enter(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.closing {
            return false;
        }
        state.in_flight += 1;
        true
    }

    fn leave(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.in_flight -= 1;
        if state.in_flight == 0 {
            self.settled.notify_all();
        }
    }

    /// Refuses new connects, then waits (at most `limit`) for those in
    /// flight; answers whether they all ended.
    fn close(&self, limit: Duration) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.closing = true;
        let (state, _) = self
            .settled
            .wait_timeout_while(state, limit, |s| s.in_flight > 0)
            .unwrap_or_else(|e| e.into_inner());
        state.in_flight == 0
    }
}

/// Opens pooled connections of either kind.
#[derive(Debug, Clone)]
struct Manager {
    target: Target,
    gate: Arc<ConnectGate>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        if !self.gate.enter() {
            return Err(diesel::r2d2::Error::ConnectionError(
                diesel::ConnectionError::BadConnection("the store is closing".into()),
            ));
        }
        let conn = match &self.target {
            Target::Sqlite(path) => SqliteConnection::establish(path)
                .map(Conn::Sqlite)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Target::Pg(url) => PgConnection::establish(url)
                .map(Conn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
        };
        self.gate.leave();
        conn
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        match conn {
            Conn::Sqlite(c) => c.is_broken(),
            Conn::Pg(c) => c.is_broken(),
        }
    }
}

/// Turns the accepted spellings of a SQLite URL into a path, following
/// SQLAlchemy's convention: after `sqlite://`, a third slash starts a path
/// relative to the working directory and a fourth an absolute one.
/// `sqlite://x.db`, `sqlite:///x.db` and the seed's
/// `sqlite+aiosqlite:///./x.db` are relative; `sqlite:////var/lib/x.db` is
/// `/var/lib/x.db`; a bare path is taken as it is.
pub fn sqlite_path(url: &str) -> Result<String, StoreError> {
    let rest = if let Some((scheme, rest)) = url.split_once("://") {
        match scheme {
            "sqlite" | "sqlite+aiosqlite" | "sqlite+pysqlite" => rest,
            other => {
                return Err(StoreError::Setup(format!(
                    "database.url: unsupported scheme `{other}` (use sqlite://path, a bare path, or postgres://user@host/db)"
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
type Job = Box<dyn FnOnce(&mut Conn) -> Finish + Send>;
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

/// What a caller is told when its write never ran: its batch could not
/// begin, or a write before it in the batch panicked.
const NOT_RUN: &str = "the write was not run: its batch failed before the commit (see the log)";

/// Most writes committed together.
const MAX_BATCH: usize = 256;

/// Handle to the database.
///
/// On SQLite: a pool of readers and one writer thread. All writes go to
/// one thread that owns the only writing connection. It takes every write
/// waiting in its queue (up to 256), runs them one after the other inside
/// one immediate transaction, each in its own savepoint so that a refused
/// write undoes only itself, commits once, then answers each caller.
/// Concurrent sends therefore never meet "database is locked", counters
/// stay exact, and a burst costs one commit instead of one per message.
/// Reads use the pool and run beside the writer thanks to WAL.
///
/// On PostgreSQL the same: a pool of readers and one writer thread per
/// node, batching its writes into one transaction and one commit. Each
/// batch first takes the cluster-wide [`lock_message_order`], so batches
/// of all nodes commit one after the other: message ids stay in commit
/// order, counters and idempotent retries stay exact across nodes, and
/// since every writer takes that lock before any row lock, two nodes'
/// batches cannot deadlock. A burst from many clients costs one commit
/// (one WAL flush) per batch instead of one per message.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    /// The writer thread's queue.
    jobs: std::sync::mpsc::Sender<Job>,
    /// Whether the store is on PostgreSQL.
    pg: bool,
    waits: Arc<PoolWaits>,
    /// One permit per pooled connection: a read waits here, as a task,
    /// before it takes a blocking thread, so no more threads block than
    /// there are connections (instead of one per request in flight, each
    /// parked in the pool and woken in turn).
    read_slots: Arc<tokio::sync::Semaphore>,
    /// Notified after a commit that enqueued a webhook delivery.
    outbox: Arc<tokio::sync::Notify>,
    /// The pool's connects in flight, for [`Db::close`].
    gate: Arc<ConnectGate>,
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
    /// Opens the database at `url` (a SQLite file, created if needed, or
    /// `postgres://…`), runs pending migrations and builds a pool of
    /// `pool_size` connections.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        match Target::parse(url)? {
            Target::Sqlite(path) => Self::open_sqlite(path, pool_size),
            target @ Target::Pg(_) => Self::open_pg(target, pool_size),
        }
    }

    fn open_sqlite(path: String, pool_size: u32) -> Result<Self, StoreError> {
        if let Some(parent) = std::path::Path::new(&path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Setup(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
        let resolved = std::path::absolute(&path).unwrap_or_else(|_| path.clone().into());
        tracing::info!(file = %resolved.display(), "SQLite database file");
        let target = Target::Sqlite(path);
        let gate = Arc::<ConnectGate>::default();
        let mut writer = target.connect()?;
        migrate(&mut writer)?;
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // A SQLite connection is a file handle in this process: there
            // is no server to lose it, so no `SELECT 1` before each read.
            .test_on_check_out(false)
            .connection_customizer(Box::new(Pragmas))
            .build(Manager {
                target: target.clone(),
                gate: gate.clone(),
            })?;
        Self::with_writer(pool, writer, target, gate)
    }

    /// Starts the writer thread on `writer` and assembles the handle.
    fn with_writer(
        pool: Pool<Manager>,
        writer: Conn,
        target: Target,
        gate: Arc<ConnectGate>,
    ) -> Result<Self, StoreError> {
        let pg = writer.is_pg();
        let read_slots = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let outbox = Arc::new(tokio::sync::Notify::new());
        let signal = outbox.clone();
        std::thread::Builder::new()
            .name("livechat-writer".into())
            .spawn(move || run_writer(writer, target, queue, signal))
            .map_err(|e| StoreError::Setup(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            pool,
            jobs,
            pg,
            waits: Arc::default(),
            read_slots,
            outbox,
            gate,
        })
    }

    fn open_pg(target: Target, pool_size: u32) -> Result<Self, StoreError> {
        let mut writer = target.connect()?;
        migrate(&mut writer)?;
        let gate = Arc::<ConnectGate>::default();
        let pool = Pool::builder()
            .max_size(pool_size.max(2))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(Manager {
                target: target.clone(),
                gate: gate.clone(),
            })?;
        Self::with_writer(pool, writer, target, gate)
    }

    /// Makes the store safe to leave: the pool opens no more connections,
    /// and this waits (up to 15 s) for those it is opening in the
    /// background. Call it before the process exits, after the last query
    /// (queries that need a new connection fail from then on; idle ones
    /// keep working). Without it a process on PostgreSQL can crash at exit
    /// (see [`ConnectGate`]).
    pub fn close(&self) {
        if !self.gate.close(Duration::from_secs(15)) {
            tracing::warn!("the store closed with a database connect still in flight");
        }
    }

    /// Notified after every committed write that enqueued a webhook
    /// delivery on this node (other nodes' writes are not seen: the
    /// delivery worker also polls).
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox.clone()
    }

    /// Whether the store is on PostgreSQL.
    pub fn is_pg(&self) -> bool {
        self.pg
    }

    /// Runs a read on a pooled connection, off the async threads.
    pub async fn read<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        let waits = self.waits.clone();
        let asked = Instant::now();
        let slot = self
            .read_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let mut conn = pool.get()?;
            let waited = u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX);
            waits.reads.fetch_add(1, Ordering::Relaxed);
            waits.micros.fetch_add(waited, Ordering::Relaxed);
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs a write (in a savepoint of the writer's next batch) and waits
    /// for its committed result.
    pub async fn write<F, R>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await.map_err(|_| StoreError::Task(NOT_RUN.into()))?
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
        rx.recv().map_err(|_| StoreError::Task(NOT_RUN.into()))?
    }

    fn enqueue<F, R, D>(&self, f: F, deliver: D) -> Result<(), StoreError>
    where
        F: FnOnce(&mut Conn) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
        D: FnOnce(Result<R, StoreError>) + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &mut Conn| {
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

    /// The pool's figures since start (reads only; on PostgreSQL the pool
    /// also serves writes).
    pub fn pool_stats(&self) -> PoolStats {
        let state = self.pool.state();
        PoolStats {
            reads: self.waits.reads.load(Ordering::Relaxed),
            wait_micros: self.waits.micros.load(Ordering::Relaxed),
            connections: state.connections,
            idle: state.idle_connections,
        }
    }

    /// Indexes for search every message stored so far (the writer does it
    /// in the background, a moment after each send): after this, searches
    /// find everything written before the call.
    pub async fn catch_up_search_index(&self) -> Result<(), StoreError> {
        while self.write(crate::search_index::index_batch_in).await? > 0 {}
        Ok(())
    }

    /// [`Db::catch_up_search_index`] for command-line tools and tests
    /// (never from inside an async task).
    pub fn catch_up_search_index_blocking(&self) -> Result<(), StoreError> {
        while self.write_blocking(crate::search_index::index_batch_in)? > 0 {}
        Ok(())
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

/// Runs pending migrations: on PostgreSQL under a session-level advisory
/// lock, so that nodes starting together wait for each other and the
/// migrations run once.
pub(crate) fn migrate(conn: &mut Conn) -> Result<(), StoreError> {
    fn failed(e: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
        StoreError::Setup(format!("migrations failed: {e}"))
    }
    match conn {
        Conn::Sqlite(c) => {
            c.run_pending_migrations(MIGRATIONS).map_err(failed)?;
        }
        Conn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let ran = c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(drop)
                .map_err(failed);
            let unlocked = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            ran?;
            unlocked?;
        }
    }
    Ok(())
}

/// Opens a batch's transaction: `BEGIN IMMEDIATE` on SQLite (the write
/// lock at once, so the batch never has to upgrade a read lock); on
/// PostgreSQL `BEGIN` and, before any row lock, the message-order lock
/// (see [`Db`]).
fn begin_batch(conn: &mut Conn) -> Result<(), diesel::result::Error> {
    match conn {
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        Conn::Pg(_) => {
            <Conn as Connection>::TransactionManager::begin_transaction(conn)?;
            let locked = conn.batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({MESSAGE_ORDER_LOCK})"
            ));
            if locked.is_err() {
                let _ = <Conn as Connection>::TransactionManager::rollback_transaction(conn);
            }
            locked
        }
    }
}

/// Commits a batch's transaction, or rolls it back if the commit fails.
fn commit_batch(conn: &mut Conn) -> Result<(), diesel::result::Error> {
    let committed = <Conn as Connection>::TransactionManager::commit_transaction(conn);
    if committed.is_err() {
        let _ = <Conn as Connection>::TransactionManager::rollback_transaction(conn);
    }
    committed
}

/// The writer thread: batches of queued writes, one commit each, until every
/// `Db` handle is gone.
fn run_writer(
    mut conn: Conn,
    target: Target,
    queue: std::sync::mpsc::Receiver<Job>,
    outbox: Arc<tokio::sync::Notify>,
) {
    // Indexes for search what the batches store, between them (see
    // `search_index`).
    let mut indexer = crate::search_index::Indexer::new();
    while let Some(first) = indexer.next_job(&queue, &mut conn) {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Nothing has run yet if the transaction cannot even begin: a
        // PostgreSQL server restarted, or a connection cut. Connect again
        // and try once more before failing the batch.
        let mut begun = begin_batch(&mut conn);
        if let Err(e) = &begun {
            tracing::warn!(error = %e, "the writer connection failed; reconnecting");
            match target.connect() {
                Ok(fresh) => {
                    conn = fresh;
                    begun = begin_batch(&mut conn);
                }
                Err(e) => tracing::error!(error = %e, "cannot reopen the writer connection"),
            }
        }
        if let Err(e) = begun {
            tracing::error!(error = %e, writes = batch.len(), "a batch of writes could not begin");
            // Dropping a job drops its caller's channel: each gets
            // `NOT_RUN`.
            drop(batch);
            continue;
        }
        let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
        crate::webhooks::take_enqueued();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for job in batch {
                finishes.push(job(&mut conn));
            }
            commit_batch(&mut conn)
        }));
        match outcome {
            Ok(Ok(())) => {
                // A refused write's savepoint may have set the mark too:
                // a spurious wake-up costs the worker one query.
                if crate::webhooks::take_enqueued() {
                    outbox.notify_one();
                }
                finishes.into_iter().for_each(|f| f(None));
                indexer.after_commit(&mut conn);
            }
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
                match target.connect() {
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

    crate::on_both_backends! {
    /// Concurrent writes all land (batched on SQLite), and a refused one
    /// undoes only itself.
    fn a_refused_write_undoes_only_itself(backend) {
        let (_guard, db) = crate::demo_db(backend);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(writes(db));
    }
    }

    #[derive(diesel::QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// The bundled SQLite is built with the query planner stability
    /// guarantee (`.cargo/config.toml`): without it every statement with a
    /// bound `LIMIT` is compiled again on each run, and the statement cache
    /// serves none of the pages.
    #[test]
    fn sqlite_keeps_its_compiled_statements() {
        let (_guard, db) = crate::demo_db(crate::testing::Backend::Sqlite);
        let options: Vec<String> = db
            .read_blocking(|c| {
                Ok(diesel::sql_query("PRAGMA compile_options")
                    .load::<CompileOption>(c)?
                    .into_iter()
                    .map(|o| o.compile_options)
                    .collect())
            })
            .unwrap();
        assert!(
            options.iter().any(|o| o == "ENABLE_QPSG"),
            "SQLite built without ENABLE_QPSG: {options:?}"
        );
    }

    /// A PostgreSQL connection cut between writes (a server restart, a
    /// failover, an administrator's `pg_terminate_backend`) costs nothing:
    /// the writer connects again and the next write lands.
    #[test]
    fn the_writer_reconnects_after_its_postgres_connection_is_cut() {
        let Some(guard) = crate::testing::TempPgDatabase::for_test() else {
            return;
        };
        let db = Db::open(guard.url(), 2).unwrap();
        let insert = |n: i32| {
            move |c: &mut Conn| {
                diesel::insert_into(quick_replies::table)
                    .values((
                        quick_replies::user_id.eq("b1"),
                        quick_replies::content.eq(format!("r{n}")),
                        quick_replies::position.eq(n),
                        quick_replies::created_at.eq(0),
                        quick_replies::updated_at.eq(0),
                    ))
                    .execute(c)?;
                Ok(())
            }
        };
        db.write_blocking(crate::demo::seed).unwrap();
        db.write_blocking(insert(1)).unwrap();
        let mut admin = PgConnection::establish(guard.url()).unwrap();
        let cut: Vec<bool> = diesel::sql_query(
            "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .load::<Cut>(&mut admin)
        .unwrap()
        .into_iter()
        .map(|c| c.cut)
        .collect();
        assert!(
            cut.len() >= 2 && cut.iter().all(|c| *c),
            "the writer's and the pool's connections were cut: {cut:?}"
        );
        db.write_blocking(insert(2)).unwrap();
        let contents: Vec<String> = db
            .read_blocking(|c| {
                Ok(quick_replies::table
                    .filter(quick_replies::content.like("r%"))
                    .order(quick_replies::position)
                    .select(quick_replies::content)
                    .load(c)?)
            })
            .unwrap();
        assert_eq!(contents, ["r1", "r2"]);
        db.close();
    }

    #[derive(diesel::QueryableByName)]
    struct Cut {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        cut: bool,
    }

    async fn writes(db: Db) {
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

    /// Nodes starting together on a fresh PostgreSQL database: every one
    /// opens and seeds it, the migrations ran once and one node seeded.
    #[test]
    fn postgres_migrations_run_once_when_nodes_start_together() {
        if crate::testing::skip_postgres() {
            eprintln!("skipped: LIVECHAT_SKIP_POSTGRES=1");
            return;
        }
        let guard = crate::testing::TestDatabase::new(crate::testing::Backend::Postgres);
        let url = guard.url();
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let db = Db::open(&url, 2)?;
                    db.write_blocking(crate::demo::seed)
                })
            })
            .collect();
        let seeded: Vec<bool> = nodes
            .into_iter()
            .map(|n| n.join().unwrap().unwrap())
            .collect();
        assert_eq!(seeded.iter().filter(|s| **s).count(), 1, "{seeded:?}");
        #[derive(diesel::QueryableByName)]
        struct Ran {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let db = Db::open(&url, 1).unwrap();
        let ran = db
            .read_blocking(|c| {
                Ok(
                    diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
                        .get_result::<Ran>(c)?
                        .n,
                )
            })
            .unwrap();
        let embedded =
            diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
                .unwrap()
                .len();
        assert_eq!(ran as usize, embedded, "each migration recorded once");
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
        assert_eq!(
            Target::parse("postgres://u@h/db").unwrap(),
            Target::Pg("postgres://u@h/db".into())
        );
        assert_eq!(
            Target::parse("postgresql://u@h/db").unwrap(),
            Target::Pg("postgresql://u@h/db".into())
        );
        assert_eq!(
            Target::parse("sqlite://x.db").unwrap(),
            Target::Sqlite("x.db".into())
        );
        assert!(Target::parse("mysql://h/db").is_err());
        assert!(sqlite_path("sqlite://").is_err());
    }
}
