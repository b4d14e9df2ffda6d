//! Throw-away databases for tests, on either backend: a SQLite file in a
//! temporary folder, or a PostgreSQL database created for the test and
//! dropped afterwards.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

/// The server the PostgreSQL variants of the tests use, unless
/// `LIVECHAT_TEST_POSTGRES_URL` names another (its maintenance database).
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How to start the local server when it does not answer.
pub const START_HINT: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
(or point LIVECHAT_TEST_POSTGRES_URL at another server), or set LIVECHAT_SKIP_POSTGRES=1 to skip the PostgreSQL tests";

/// Whether the PostgreSQL variants of the tests were asked to be skipped
/// (`LIVECHAT_SKIP_POSTGRES=1`). They never skip on their own.
pub fn skip_postgres() -> bool {
    std::env::var("LIVECHAT_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

fn admin_url() -> String {
    plain_tcp(
        &std::env::var("LIVECHAT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string()),
    )
}

/// `url` with `sslmode=disable` unless it names a mode of its own.
///
/// A test process leaves the servers it started running when its tests
/// are done, and exits while they may still be writing (a socket closed by
/// the test's end marks its user offline). With TLS, OpenSSL's exit
/// handlers would then run under a thread inside OpenSSL and crash the
/// test binary after every test passed. Real processes close their store
/// before exiting (`Db::close`, tested over TLS by the command-line tools'
/// test); a test's throw-away database on the local server needs no TLS.
pub fn plain_tcp(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// A database of its own on the test server, dropped (with whatever is
/// still connected to it) when this is dropped.
#[derive(Debug)]
pub struct TempPgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TempPgDatabase {
    /// Creates `livechat_test_<random>`; the error says how to start
    /// PostgreSQL when it does not answer.
    pub fn create() -> Result<Self, String> {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let admin_url = admin_url();
        let mut admin = PgConnection::establish(&admin_url).map_err(|e| {
            format!("PostgreSQL is not answering at {admin_url} ({e}); {START_HINT}")
        })?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!(
            "livechat_test_{}_{:x}_{}",
            std::process::id(),
            nanos & 0xffff_ffff_ffff,
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| format!("cannot create the test database {name}: {e}"))?;
        let base = admin_url.split('?').next().unwrap_or(&admin_url);
        let server = base.rsplit_once('/').map(|(s, _)| s).unwrap_or(base);
        let url = plain_tcp(&format!("{server}/{name}"));
        Ok(Self {
            admin_url,
            name,
            url,
        })
    }

    /// A test's own database, or `None` (after saying so) when the
    /// PostgreSQL tests are skipped ([`skip_postgres`]); panics with
    /// [`TempPgDatabase::create`]'s message when the server does not answer.
    pub fn for_test() -> Option<Self> {
        if skip_postgres() {
            eprintln!("skipped: LIVECHAT_SKIP_POSTGRES=1");
            return None;
        }
        Some(Self::create().unwrap_or_else(|e| panic!("{e}")))
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TempPgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// What keeps a test database alive: its folder or its PostgreSQL database.
#[derive(Debug)]
pub enum TestDatabase {
    /// A SQLite file in this folder.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL database.
    Postgres(TempPgDatabase),
}

impl TestDatabase {
    /// A fresh, empty database on `backend`; panics (saying how to start
    /// PostgreSQL) when it cannot be had.
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                TestDatabase::Sqlite(tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")))
            }
            Backend::Postgres => {
                TestDatabase::Postgres(TempPgDatabase::create().unwrap_or_else(|e| panic!("{e}")))
            }
        }
    }

    /// The `database.url` to open it with.
    pub fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite(dir) => dir.path().join("test.db").display().to_string(),
            TestDatabase::Postgres(db) => db.url().to_string(),
        }
    }
}
