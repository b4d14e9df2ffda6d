//! `bench`: the default set of runs at the targets' conditions, written to
//! docs/benchmarks.md (between markers, leaving the rest of the file alone)
//! and docs/benchmarks.json.

mod markdown;
mod targets;

use std::future::Future;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::args::Args;
use crate::scenarios::{
    self, ChatOpts, ChatResult, ClusterOpts, ClusterResult, ConnOpts, ConnectionsResult, Ctx,
    HistoryOpts, HistoryResult, HttpOpts, HttpResult, StoreOpts, StoreResult, DEFAULT_POSTGRES,
    DEFAULT_REDIS,
};
use crate::server::environment;
use crate::{pretty_json, Res};

pub use targets::Verdict;

/// Everything one `bench` writes to docs/benchmarks.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRun {
    pub generated: String,
    pub quick: bool,
    pub machine: Machine,
    pub source: Source,
    /// The server's settings, `KEY=value`.
    pub server_environment: Vec<String>,
    pub commands: Commands,
    pub connections: Measured<ConnectionsResult>,
    pub chat_latency: Measured<ChatResult>,
    pub chat_sustainable: Measured<ChatResult>,
    pub chat_throughput: Measured<ChatResult>,
    pub history: Measured<HistoryResult>,
    pub store: Measured<StoreResult>,
    /// The many-nodes rows (PostgreSQL + Redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterRuns>,
    /// The HTTP rows (each row has its own load average).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpResult>,
}

/// The chat on a cluster of 1 and of 3 nodes, at saturation and at a
/// fixed rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterRuns {
    pub one_node_throughput: Measured<ClusterResult>,
    pub three_nodes_throughput: Measured<ClusterResult>,
    pub one_node_fixed_rate: Measured<ClusterResult>,
    pub three_nodes_fixed_rate: Measured<ClusterResult>,
}

/// A scenario's result with the load average around it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured<T> {
    #[serde(flatten)]
    pub run: T,
    /// 1-minute load average before and after the run (null if unknown).
    pub loadavg_before_after: [Option<f64>; 2],
}

/// The machine the runs were made on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    /// `ulimit -n`, as the shell prints it.
    pub open_files_limit: String,
}

/// The commit the run was built from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub commit: String,
    pub dirty: bool,
    pub changed_paths: usize,
}

/// The command line of each run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commands {
    pub bench: String,
    pub connections: String,
    pub chat_latency: String,
    pub chat_sustainable: String,
    pub chat_throughput: String,
    pub history: String,
    pub store: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<[String; 4]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
}
fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    Machine {
        cpu: model,
        cores,
        memory_gib: (mem_kib as f64 / 1_048_576.0 * 10.0).round() / 10.0,
        kernel: command_output("uname", &["-r"]),
        open_files_limit: command_output("sh", &["-c", "ulimit -n"]),
    }
}

fn source() -> Source {
    let head = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let status = command_output("git", &["status", "--porcelain"]);
    Source {
        commit: head,
        dirty: !status.is_empty(),
        changed_paths: status.lines().count(),
    }
}

/// The 1-minute load average: the machine is shared, so a busy one shows.
pub(crate) fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
}

fn utc_now() -> String {
    command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}

/// The options of every run of `bench`.
struct Plan {
    conn: ConnOpts,
    latency: ChatOpts,
    sustainable: ChatOpts,
    throughput: ChatOpts,
    history: HistoryOpts,
    store: StoreOpts,
    /// One node and three nodes at saturation, then both at a fixed rate.
    cluster: [ClusterOpts; 4],
    http: HttpOpts,
}

impl Plan {
    /// The targets' conditions, or everything scaled down with `quick`;
    /// the throughput run is profiled when perf is there (and not `quick`).
    fn new(quick: bool, perf: bool) -> Self {
        let scale = |n: usize, q: usize| if quick { q } else { n };
        let latency = ChatOpts {
            users: scale(10_000, 1_000),
            conversations: scale(5_000, 500),
            rate: if quick { 500 } else { 5_000 },
            // Long enough to see whether RSS stays flat after warm-up.
            duration: if quick { 5 } else { 60 },
            warmup: if quick { 1 } else { 3 },
            inflight: 512,
            per_worker: 5_000,
            profile: false,
            quickack: false,
            pin: false,
        };
        Self {
            conn: ConnOpts {
                sockets: scale(18_000, 2_000),
                per_worker: 4_500,
                conc: 100,
                hold_secs: if quick { 3 } else { 15 },
            },
            sustainable: ChatOpts {
                rate: if quick { 200 } else { 1_000 },
                duration: if quick { 3 } else { 15 },
                ..latency.clone()
            },
            latency,
            throughput: ChatOpts {
                users: scale(2_000, 200),
                conversations: scale(1_000, 100),
                rate: if quick { 2_000 } else { 20_000 },
                duration: if quick { 3 } else { 20 },
                // No warm-up: at saturation a warm-up's backlog would delay every
                // measured send; the sustained rate counts from the start anyway.
                warmup: 0,
                inflight: 512,
                per_worker: 5_000,
                profile: perf && !quick,
                quickack: false,
                // The server on one core, the generator on the other.
                pin: true,
            },
            history: HistoryOpts {
                messages: scale(1_000_000, 50_000),
                conversations: scale(100_000, 5_000),
                long: scale(100_000, 5_000),
                merchant_conversations: scale(10_000, 1_000),
                requests: scale(300, 30),
                budget_secs: 15,
                postgres: None,
            },
            store: StoreOpts {
                messages: scale(20_000, 2_000),
                batch: 100,
            },
            cluster: Self::cluster(quick),
            http: HttpOpts {
                connections: 32,
                duration: if quick { 2 } else { 10 },
                warmup: 1,
                history_messages: scale(10_000, 1_000),
            },
        }
    }

    /// The many-nodes runs: 2,000 sockets (spread over the nodes) in 1,000
    /// conversations, at saturation (offered 20,000/s) and at 1,000/s.
    fn cluster(quick: bool) -> [ClusterOpts; 4] {
        let chat = |rate: u64| ChatOpts {
            users: if quick { 200 } else { 2_000 },
            conversations: if quick { 100 } else { 1_000 },
            rate: if quick { rate / 10 } else { rate },
            duration: if quick { 3 } else { 10 },
            warmup: 0,
            inflight: 512,
            per_worker: 5_000,
            profile: false,
            quickack: false,
            pin: false,
        };
        let at = |nodes: usize, rate: u64| ClusterOpts {
            nodes,
            chat: ChatOpts {
                warmup: if rate < 5_000 && !quick { 2 } else { 0 },
                ..chat(rate)
            },
            postgres_admin_url: DEFAULT_POSTGRES.into(),
            redis_url: DEFAULT_REDIS.into(),
        };
        [at(1, 20_000), at(3, 20_000), at(1, 1_000), at(3, 1_000)]
    }

    fn commands(&self) -> Commands {
        Commands {
            bench: "just bench".into(),
            connections: self.conn.command(),
            chat_latency: self.latency.command(),
            chat_sustainable: self.sustainable.command(),
            chat_throughput: self.throughput.command(),
            history: self.history.command(),
            store: self.store.command(),
            cluster: Some(self.cluster.clone().map(|c| c.command())),
            http: Some(self.http.command()),
        }
    }
}

/// Runs one scenario, noting the load average before and after it.
async fn measured<T>(
    label: &str,
    command: &str,
    run: impl Future<Output = Res<T>>,
) -> Res<Measured<T>> {
    eprintln!("bench: {label} ({command})");
    let before = loadavg();
    let run = run.await?;
    Ok(Measured {
        run,
        loadavg_before_after: [before, loadavg()],
    })
}

/// Runs the default set and rewrites the documents.
pub async fn bench(ctx: &Ctx, args: &Args) -> Res<Vec<Verdict>> {
    let quick = args.flag("quick");
    let md = args.str("md", "docs/benchmarks.md");
    let json_path = args.str("json", "docs/benchmarks.json");
    let perf = std::process::Command::new("perf")
        .arg("--version")
        .output()
        .is_ok();
    let p = Plan::new(quick, perf);
    let started = utc_now();
    let connections = measured(
        "connections",
        &p.conn.command(),
        scenarios::connections(ctx, &p.conn),
    )
    .await?;
    let chat_latency = measured(
        "chat latency",
        &p.latency.command(),
        scenarios::chat(ctx, &p.latency),
    )
    .await?;
    let chat_sustainable = measured(
        "chat, sustainable rate",
        &p.sustainable.command(),
        scenarios::chat(ctx, &p.sustainable),
    )
    .await?;
    let chat_throughput = measured(
        "chat throughput",
        &p.throughput.command(),
        scenarios::chat(ctx, &p.throughput),
    )
    .await?;
    let history = measured(
        "history",
        &p.history.command(),
        scenarios::history(ctx, &p.history),
    )
    .await?;
    let store = measured("store", &p.store.command(), scenarios::store(ctx, &p.store)).await?;
    let cluster = cluster_runs(ctx, &p.cluster).await?;
    eprintln!("bench: http ({})", p.http.command());
    let http = scenarios::http(ctx, &p.http).await?;
    let all = BenchRun {
        generated: started,
        quick,
        machine: machine(),
        source: source(),
        server_environment: environment(Path::new("<temp>/bench.db"), Path::new("<temp>/media"))
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        commands: p.commands(),
        connections,
        chat_latency,
        chat_sustainable,
        chat_throughput,
        history,
        store,
        cluster: Some(cluster),
        http: Some(http),
    };
    std::fs::write(&json_path, pretty_json(&all)? + "\n")?;
    markdown::write(Path::new(&md), &all)?;
    eprintln!("bench: wrote {md} and {json_path}");
    Ok(targets::verdicts(&all))
}

/// The four cluster runs, in the plan's order.
async fn cluster_runs(ctx: &Ctx, plan: &[ClusterOpts; 4]) -> Res<ClusterRuns> {
    let mut runs = Vec::with_capacity(4);
    for o in plan {
        let label = format!("cluster of {} at {}/s", o.nodes, o.chat.rate);
        runs.push(measured(&label, &o.command(), scenarios::cluster(ctx, o)).await?);
    }
    let mut runs = runs.into_iter();
    let mut next = || runs.next().ok_or("a cluster run is missing");
    Ok(ClusterRuns {
        one_node_throughput: next()?,
        three_nodes_throughput: next()?,
        one_node_fixed_rate: next()?,
        three_nodes_fixed_rate: next()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS_JSON: &str = include_str!("../../../docs/benchmarks.json");

    #[test]
    fn the_documented_run_reads_back_and_writes_the_same_json() {
        let run: BenchRun = serde_json::from_str(DOCS_JSON).unwrap();
        let original: serde_json::Value = serde_json::from_str(DOCS_JSON).unwrap();
        assert_eq!(serde_json::to_value(&run).unwrap(), original);
        assert_eq!(pretty_json(&run).unwrap() + "\n", DOCS_JSON);
    }

    #[test]
    fn the_full_plan_has_the_documented_commands() {
        let run: BenchRun = serde_json::from_str(DOCS_JSON).unwrap();
        let documented = serde_json::to_value(&run.commands).unwrap();
        let planned = serde_json::to_value(Plan::new(false, true).commands()).unwrap();
        assert_eq!(planned, documented);
    }
}
