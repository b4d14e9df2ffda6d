//! `livechat-loadgen`: load and latency benchmarks of the livechat server.
//!
//! ```text
//! livechat-loadgen connections [--sockets 18000] [--per-worker 4500] [--conc 100] [--hold 15]
//! livechat-loadgen chat [--users 10000] [--conversations 5000] [--rate 5000] [--duration 20] [--warmup 3] [--inflight 512] [--profile]
//! livechat-loadgen cluster [--nodes 3] [chat's options] [--postgres postgres://…/postgres] [--redis redis://127.0.0.1:6379]
//! livechat-loadgen http [--connections 32] [--duration 10] [--warmup 1] [--history-messages 10000]
//! livechat-loadgen history [--messages 1000000] [--conversations 100000] [--long 100000] [--merchant-conversations 10000] [--requests 300]
//! livechat-loadgen store [--messages 20000] [--batch 100]
//! livechat-loadgen bench [--md docs/benchmarks.md] [--json docs/benchmarks.json] [--quick]
//! common: --server target/release/livechat-server --config-dir config --keep
//! ```
//!
//! Each scenario makes its own temporary database, starts the server binary
//! on it as a child process (so it can read the server's RSS and CPU time
//! from /proc) and drives it with real clients over loopback only.

mod args;
mod client;
mod report;
mod scenarios;
mod seed;
mod server;
mod stats;
mod worker;

use std::process::ExitCode;

use args::Args;
use scenarios::Ctx;

/// Errors of the generator: anything, with a message.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "usage: livechat-loadgen <connections|chat|cluster|http|history|store|bench> [--option value …]
  connections  --sockets 18000 --per-worker 4500 --conc 100 --hold 15
  chat         --users 10000 --conversations 5000 --rate 5000 --duration 20 --warmup 3 --inflight 512 [--profile]
  cluster      --nodes 3 (and chat's options) --postgres postgres://postgres@127.0.0.1:5432/postgres --redis redis://127.0.0.1:6379
  http         --connections 32 --duration 10 --warmup 1 --history-messages 10000
  history      --messages 1000000 --conversations 100000 --long 100000 --merchant-conversations 10000 --requests 300 --budget 15 [--postgres postgres://postgres@127.0.0.1:5432/postgres]
  store        --messages 20000 --batch 100   (the send transaction alone, no HTTP)
  bench        --md docs/benchmarks.md --json docs/benchmarks.json [--quick]
  every one:   --server target/release/livechat-server --config-dir config [--keep]";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = argv.first().cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = match Args::parse(&argv[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("livechat-loadgen: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = if command == "worker" {
        // One thread per worker: the server needs the cores more.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Into::into)
            .and_then(|rt| rt.block_on(worker::run(args)))
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(Into::into)
            .and_then(|rt| rt.block_on(run(&command, args)))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("livechat-loadgen {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: &str, args: Args) -> Res<()> {
    let ctx = Ctx::from_args(&args)?;
    let result = run_command(command, &ctx, &args).await;
    ctx.clean();
    println!("{}", result?);
    Ok(())
}

/// Runs one command; answers its result as JSON text.
async fn run_command(command: &str, ctx: &Ctx, args: &Args) -> Res<String> {
    match command {
        "connections" => {
            let o = scenarios::ConnOpts::from_args(args)?;
            pretty_json(&scenarios::connections(ctx, &o).await?)
        }
        "chat" => {
            let o = scenarios::ChatOpts::from_args(args)?;
            pretty_json(&scenarios::chat(ctx, &o).await?)
        }
        "cluster" => {
            let o = scenarios::ClusterOpts::from_args(args)?;
            pretty_json(&scenarios::cluster(ctx, &o).await?)
        }
        "http" => {
            let o = scenarios::HttpOpts::from_args(args)?;
            pretty_json(&scenarios::http(ctx, &o).await?)
        }
        "history" => {
            let o = scenarios::HistoryOpts::from_args(args)?;
            pretty_json(&scenarios::history(ctx, &o).await?)
        }
        "store" => {
            let o = scenarios::StoreOpts::from_args(args)?;
            pretty_json(&scenarios::store(ctx, &o).await?)
        }
        "bench" => pretty_json(&report::bench(ctx, args).await?),
        other => Err(format!("unknown command `{other}`\n{USAGE}").into()),
    }
}

/// Pretty JSON with the keys of every object in sorted order (through
/// `serde_json::Value`), so that files diff cleanly from run to run.
pub fn pretty_json(value: &impl serde::Serialize) -> Res<String> {
    Ok(serde_json::to_string_pretty(&serde_json::to_value(value)?)?)
}
