//! A consistent copy of a SQLite database, safe while the server runs.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

use crate::{Db, StoreError};

/// What a backup copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Where the copy is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Users in the copy.
    pub users: i64,
    /// Messages in the copy.
    pub messages: i64,
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn setup(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Setup(format!("{what}: {e}"))
}

/// Copies `db` to `target` (which must not exist): `VACUUM INTO` reads one
/// consistent snapshot inside a read transaction (WAL lets writers go on
/// meanwhile) and writes a compact, self-contained file. The copy is then
/// opened, checked (`PRAGMA integrity_check`) and its rows counted.
pub fn backup(db: &Db, target: &Path) -> Result<BackupReport, StoreError> {
    if target.exists() {
        return Err(setup(
            &target.display().to_string(),
            "exists already: a backup never overwrites a file",
        ));
    }
    let path = target.display().to_string();
    let quoted = format!("'{}'", path.replace('\'', "''"));
    db.read_blocking(move |c| Ok(c.batch_execute(&format!("VACUUM INTO {quoted}"))?))?;
    let mut copy =
        diesel::SqliteConnection::establish(&path).map_err(|e| setup("cannot open the copy", e))?;
    let check: Vec<Text> =
        diesel::sql_query("SELECT integrity_check AS v FROM pragma_integrity_check")
            .load(&mut copy)
            .map_err(|e| setup("cannot check the copy", e))?;
    if check.first().map(|r| r.v.as_str()) != Some("ok") {
        return Err(setup(&path, "the copy failed its integrity check"));
    }
    let mut count = |table: &str| -> Result<i64, StoreError> {
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(&mut copy)
            .map(|r| r.n)
            .map_err(|e| setup(&format!("cannot count {table} in the copy"), e))
    };
    Ok(BackupReport {
        users: count("users")?,
        messages: count("messages")?,
        bytes: std::fs::metadata(target).map(|m| m.len()).unwrap_or(0),
        path: target.to_path_buf(),
    })
}
