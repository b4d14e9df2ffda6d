//! `connections`: many authenticated sockets held open; the server's RSS
//! per socket.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::args::Args;
use crate::client::{http_client, session_tokens};
use crate::seed;
use crate::server::ServerProc;
use crate::Res;

use super::workers::{write_tokens, ConnectSummary, Spawn, Workers};
use super::{round, Ctx};

/// Options of `connections`.
#[derive(Debug, Clone)]
pub struct ConnOpts {
    pub sockets: usize,
    pub per_worker: usize,
    pub conc: usize,
    pub hold_secs: u64,
}

impl ConnOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        Ok(Self {
            sockets: a.get("sockets", 18_000)?,
            per_worker: a.get("per-worker", 4_500)?,
            conc: a.get("conc", 100)?,
            hold_secs: a.get("hold", 15)?,
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen connections --sockets {} --per-worker {} --conc {} --hold {}",
            self.sockets, self.per_worker, self.conc, self.hold_secs
        )
    }
}

/// The result of `connections`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionsResult {
    /// Always `connections`.
    pub scenario: String,
    pub command: String,
    pub target_sockets: usize,
    pub tokens: TokenIssue,
    pub connect: ConnectSummary,
    pub server_cpu_secs_during_ramp: f64,
    pub hold_secs: u64,
    pub alive_at_end_of_hold: u64,
    pub closed_during_hold: u64,
    pub server_fds_before: usize,
    pub server_fds_at_plateau: usize,
    pub rss_before_kib: u64,
    pub rss_plateau_kib: u64,
    pub rss_peak_kib: u64,
    pub rss_per_socket_kib: f64,
    pub server_log_lines: usize,
}

/// How fast the chat tokens were issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenIssue {
    pub count: usize,
    pub secs: f64,
    pub per_sec: f64,
}

/// RSS of the server sampled once a second while the sockets are held.
struct Hold {
    plateau_kib: u64,
    peak_kib: u64,
    fds: usize,
}

async fn hold(server: &ServerProc, secs: u64) -> Res<Hold> {
    let mut samples = Vec::new();
    for _ in 0..secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(server.rss_kib()?);
    }
    let plateau_kib = samples.last().copied().unwrap_or(server.rss_kib()?);
    Ok(Hold {
        plateau_kib,
        peak_kib: samples.iter().copied().max().unwrap_or(plateau_kib),
        fds: server.fds(),
    })
}

/// Ramps to `sockets` authenticated sockets, holds them, reads the server's
/// RSS before and at the plateau.
pub async fn connections(ctx: &Ctx, o: &ConnOpts) -> Res<ConnectionsResult> {
    let dir = ctx.dir("connections")?;
    let db_path = dir.join("bench.db");
    let (db, plan) = seed::chat_db(&db_path, o.sockets, o.sockets / 2)?;
    seed::checkpoint(&db)?;
    drop(db);
    let server = ServerProc::start(&ctx.server_bin, &ctx.config_dir, &dir, &db_path).await?;
    let http = http_client(64)?;
    let t = Instant::now();
    let tokens = session_tokens(&http, &server.base(), &plan.users, 32).await?;
    let token_secs = t.elapsed().as_secs_f64();
    let tokens_path = dir.join("tokens.tsv");
    write_tokens(&tokens_path, &tokens)?;
    drop(http);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = server.rss_kib()?;
    let fds_before = server.fds();
    let cpu0 = server.cpu_secs()?;
    let (mut workers, connect) = Workers::start(&Spawn {
        ports: &[server.port],
        tokens: &tokens_path,
        users: tokens.len(),
        per_worker: o.per_worker,
        conc: o.conc,
        quickack: false,
    })
    .await?;
    let cpu_connect = server.cpu_secs()? - cpu0;
    let held = hold(&server, o.hold_secs).await?;
    let totals = workers.report().await?;
    let per_socket_kib = if connect.ok > 0 {
        (held.plateau_kib.saturating_sub(rss_before)) as f64 / connect.ok as f64
    } else {
        0.0
    };
    let log_lines = server.log_lines();
    workers.quit().await;
    server.stop().await?;
    Ok(ConnectionsResult {
        scenario: "connections".into(),
        command: o.command(),
        target_sockets: o.sockets,
        tokens: TokenIssue {
            count: tokens.len(),
            secs: round(token_secs, 2),
            per_sec: round(tokens.len() as f64 / token_secs.max(1e-9), 0),
        },
        connect,
        server_cpu_secs_during_ramp: round(cpu_connect, 2),
        hold_secs: o.hold_secs,
        alive_at_end_of_hold: totals.alive,
        closed_during_hold: totals.closed,
        server_fds_before: fds_before,
        server_fds_at_plateau: held.fds,
        rss_before_kib: rss_before,
        rss_plateau_kib: held.plateau_kib,
        rss_peak_kib: held.peak_kib,
        rss_per_socket_kib: round(per_socket_kib, 2),
        server_log_lines: log_lines,
    })
}
