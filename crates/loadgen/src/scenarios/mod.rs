//! The scenarios: `connections`, `chat`, `cluster`, `http`, `history` and `store`. Each makes
//! its own temporary database, starts its own server on it (except `store`,
//! which calls the store directly) and answers a typed result that
//! serializes to the JSON of docs/benchmarks.json.

mod chat;
mod cluster;
mod connections;
mod history;
mod http;
mod profile;
mod store;
mod workers;

use std::path::PathBuf;

use crate::args::Args;
use crate::Res;

pub use chat::{chat, ChatOpts, ChatResult};
pub use cluster::{cluster, ClusterOpts, ClusterResult, DEFAULT_POSTGRES, DEFAULT_REDIS};
pub use connections::{connections, ConnOpts, ConnectionsResult};
pub use history::{history, HistoryOpts, HistoryResult, QueryResult};
pub use http::{http, HttpOpts, HttpResult, HttpRow};
pub use store::{store, StoreOpts, StoreResult};

/// Admin credentials made for each run (low bcrypt cost: logins are not
/// what is measured).
const ADMIN: (&str, &str, &str) = ("a1", "benchadmin", "bench-admin-pass");

/// Where the binaries and the scratch space are.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub server_bin: PathBuf,
    pub config_dir: PathBuf,
    pub scratch: PathBuf,
    pub keep: bool,
}

impl Ctx {
    pub fn from_args(args: &Args) -> Res<Self> {
        let scratch = std::env::temp_dir().join(format!("livechat-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)?;
        Ok(Self {
            server_bin: PathBuf::from(args.str("server", "target/release/livechat-server")),
            config_dir: PathBuf::from(args.str("config-dir", "config")),
            scratch,
            keep: args.flag("keep"),
        })
    }

    /// A fresh, empty directory for one scenario.
    fn dir(&self, name: &str) -> Res<PathBuf> {
        let dir = self.scratch.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Removes the scratch space unless `--keep`.
    pub fn clean(&self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.scratch);
        }
    }
}

/// `x` rounded to `digits` decimals.
fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
