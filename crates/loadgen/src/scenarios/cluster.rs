//! `cluster`: the chat scenario on several nodes of one cluster: a
//! throw-away PostgreSQL database, a Redis prefix of the run's own, and
//! `--nodes` release servers joined through Redis. Sockets are spread over
//! the nodes and each user sends through its own node, so deliveries cross
//! nodes.

use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;
use serde::{Deserialize, Serialize};

use crate::args::Args;
use crate::Res;

use super::chat::{chat_on, ChatOpts, ChatResult, Deployment};
use super::Ctx;

/// Options of `cluster`: the chat options plus where the cluster lives.
#[derive(Debug, Clone)]
pub struct ClusterOpts {
    pub nodes: usize,
    pub chat: ChatOpts,
    /// The maintenance database the run's database is created from.
    pub postgres_admin_url: String,
    pub redis_url: String,
}

impl ClusterOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        Ok(Self {
            nodes: a.get("nodes", 3)?,
            chat: ChatOpts::from_args(a)?,
            postgres_admin_url: a.str("postgres", DEFAULT_POSTGRES),
            redis_url: a.str("redis", DEFAULT_REDIS),
        })
    }

    pub fn command(&self) -> String {
        let chat = self.chat.command();
        let rest = chat
            .strip_prefix("livechat-loadgen chat")
            .unwrap_or_default();
        format!("livechat-loadgen cluster --nodes {}{rest}", self.nodes)
    }
}

/// The local PostgreSQL's maintenance database.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The local Redis.
pub const DEFAULT_REDIS: &str = "redis://127.0.0.1:6379";

/// The result of `cluster`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterResult {
    /// Always `cluster`.
    pub scenario: String,
    pub command: String,
    pub nodes: usize,
    /// The run's database (created for it and dropped after it).
    pub database: String,
    pub database_dropped: bool,
    pub redis_prefix: String,
    /// Redis keys left under the prefix after the nodes stopped (deleted).
    pub redis_keys_left: u64,
    /// Conversations whose two participants are on different nodes: their
    /// messages are delivered across nodes through Redis.
    pub conversations_across_nodes: usize,
    pub node_rss_kib_at_end: Vec<u64>,
    pub node_cpu_cores: Vec<f64>,
    /// The chat run itself (rates, latency, missing deliveries).
    pub chat: ChatResult,
}

/// A database of the run's own, dropped by [`ThrowAwayDb::drop_now`].
pub(super) struct ThrowAwayDb {
    admin_url: String,
    pub(super) name: String,
    pub(super) url: String,
}

impl ThrowAwayDb {
    pub(super) fn create(admin_url: &str, tag: &str) -> Res<Self> {
        let mut admin = PgConnection::establish(admin_url)
            .map_err(|e| format!("PostgreSQL is not answering at {admin_url}: {e}"))?;
        let name = format!("livechat_bench_{}_{tag}", std::process::id());
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let base = admin_url.split('?').next().unwrap_or(admin_url);
        let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
        Ok(Self {
            admin_url: admin_url.to_string(),
            url: format!("{server}/{name}"),
            name,
        })
    }

    pub(super) fn drop_now(&self) -> bool {
        PgConnection::establish(&self.admin_url)
            .and_then(|mut admin| {
                admin
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ))
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
            })
            .is_ok()
    }
}

/// Deletes the keys under `prefix` with `redis-cli` (when it is there);
/// answers how many there were.
fn clear_redis(redis_url: &str, prefix: &str) -> u64 {
    let scan = std::process::Command::new("redis-cli")
        .args([
            "-u",
            redis_url,
            "--scan",
            "--pattern",
            &format!("{prefix}*"),
        ])
        .output();
    let Ok(out) = scan else { return 0 };
    let keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    for chunk in keys.chunks(500) {
        let _ = std::process::Command::new("redis-cli")
            .args(["-u", redis_url, "DEL"])
            .args(chunk)
            .output();
    }
    keys.len() as u64
}

/// The chat run on `nodes` nodes of a fresh cluster.
pub async fn cluster(ctx: &Ctx, o: &ClusterOpts) -> Res<ClusterResult> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let tag = format!("{}n_{:x}", o.nodes, nanos & 0xffff_ffff_ffff);
    let db = ThrowAwayDb::create(&o.postgres_admin_url, &tag)?;
    let redis_prefix = format!("livechat-bench-{}-{tag}", std::process::id());
    let deployment = Deployment::Cluster {
        nodes: o.nodes,
        database_url: db.url.clone(),
        redis_url: o.redis_url.clone(),
        redis_prefix: redis_prefix.clone(),
    };
    let run = chat_on(ctx, &o.chat, &deployment, &format!("cluster-{}", o.nodes)).await;
    let redis_keys_left = clear_redis(&o.redis_url, &redis_prefix);
    let database_dropped = db.drop_now();
    let run = run?;
    let mut chat = run.result;
    chat.command = o.command();
    Ok(ClusterResult {
        scenario: "cluster".into(),
        command: o.command(),
        nodes: o.nodes,
        database: db.name.clone(),
        database_dropped,
        redis_prefix,
        redis_keys_left,
        conversations_across_nodes: run.conversations_across_nodes,
        node_rss_kib_at_end: run.node_rss_kib,
        node_cpu_cores: run.node_cpu_cores,
        chat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_names_the_nodes_and_the_chat_options() {
        let args =
            Args::parse(&["--nodes".into(), "3".into(), "--users".into(), "200".into()]).unwrap();
        let o = ClusterOpts::from_args(&args).unwrap();
        assert_eq!(o.nodes, 3);
        assert_eq!(o.postgres_admin_url, DEFAULT_POSTGRES);
        assert_eq!(
            o.command(),
            "livechat-loadgen cluster --nodes 3 --users 200 --conversations 100 --rate 5000 --duration 20 --warmup 3 --inflight 512"
        );
    }
}
