//! Worker processes (see `crate::worker`): started by the scenario, each
//! holds a slice of the users' sockets from its own source address; the
//! scenario talks to them over their standard input and output.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::client::source_ip;
use crate::stats::{hist, merge_encoded, LatencySummary};
use crate::worker::{Connected, Event, Report};
use crate::Res;

use super::round;

/// How to start the workers.
#[derive(Debug, Clone, Copy)]
pub struct Spawn<'a> {
    /// The server's port, or every node's: line `i` of the token file
    /// connects to `ports[i % ports.len()]`.
    pub ports: &'a [u16],
    /// The `user<TAB>token` file (see [`write_tokens`]).
    pub tokens: &'a Path,
    /// Users in the file: the workers share them out.
    pub users: usize,
    pub per_worker: usize,
    /// Connects in flight per worker.
    pub conc: usize,
    /// Experiment: clients ACK at once (see `crate::worker::read_loop`).
    pub quickack: bool,
}

/// How the sockets connected, over all workers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectSummary {
    pub workers: usize,
    pub source_addresses: Vec<String>,
    pub ok: u64,
    pub failed: u64,
    pub errors: BTreeMap<String, u64>,
    /// The slowest worker's connect time.
    pub secs: f64,
    pub wall_secs_with_process_start: f64,
    pub connects_per_sec: f64,
    pub connect_time_per_worker: Vec<LatencySummary>,
}

/// What the workers' sockets saw, summed over the workers.
pub struct Totals {
    pub deliveries: u64,
    pub frames: u64,
    pub alive: u64,
    pub closed: u64,
    pub after_mark: u64,
    /// The latest of the workers' `last_after_mark_us`.
    pub last_after_mark_us: u64,
    pub close_codes: BTreeMap<String, u64>,
    /// Send-to-receive latency at the receivers, merged.
    pub latency: Histogram<u64>,
}

/// The running workers.
pub struct Workers {
    procs: Vec<WorkerProc>,
}

impl Workers {
    /// Starts one worker per `per_worker` users and waits until every one
    /// has connected its slice.
    pub async fn start(spawn: &Spawn<'_>) -> Res<(Self, ConnectSummary)> {
        let count = spawn.users.div_ceil(spawn.per_worker.max(1));
        let started = Instant::now();
        let mut procs = Vec::with_capacity(count);
        for n in 0..count {
            procs.push(WorkerProc::spawn(spawn, n)?);
        }
        let mut workers = Self { procs };
        let mut connected = Vec::with_capacity(count);
        for w in &mut workers.procs {
            connected.push(w.connected().await?);
        }
        let wall = started.elapsed().as_secs_f64();
        Ok((workers, connect_summary(connected, wall)))
    }

    /// Sends one command line to every worker.
    pub async fn send_all(&mut self, line: &str) -> Res<()> {
        for w in &mut self.procs {
            w.send(line).await?;
        }
        Ok(())
    }

    /// Asks every worker for its counters and sums them.
    pub async fn report(&mut self) -> Res<Totals> {
        let mut totals = Totals {
            deliveries: 0,
            frames: 0,
            alive: 0,
            closed: 0,
            after_mark: 0,
            last_after_mark_us: 0,
            close_codes: BTreeMap::new(),
            latency: hist()?,
        };
        for w in &mut self.procs {
            w.send("report").await?;
            let r = w.report().await?;
            totals.deliveries += r.deliveries;
            totals.frames += r.frames;
            totals.alive += r.alive;
            totals.closed += r.closed;
            totals.after_mark += r.after_mark;
            totals.last_after_mark_us = totals.last_after_mark_us.max(r.last_after_mark_us);
            for (why, n) in r.close_codes {
                *totals.close_codes.entry(why).or_default() += n;
            }
            merge_encoded(&mut totals.latency, &r.latency)?;
        }
        Ok(totals)
    }

    /// The workers' process ids (for their CPU time).
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().filter_map(|w| w.child.id()).collect()
    }

    /// Tells every worker to quit and waits for it.
    pub async fn quit(self) {
        for w in self.procs {
            w.quit().await;
        }
    }
}

fn connect_summary(connected: Vec<Connected>, wall: f64) -> ConnectSummary {
    let (mut ok, mut failed, mut slowest) = (0u64, 0u64, 0f64);
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut times = Vec::with_capacity(connected.len());
    for c in connected {
        ok += c.ok;
        failed += c.failed;
        slowest = slowest.max(c.secs);
        for (why, n) in c.errors {
            *errors.entry(why).or_default() += n;
        }
        times.push(c.connect);
    }
    ConnectSummary {
        workers: times.len(),
        source_addresses: (0..times.len()).map(|n| source_ip(n).to_string()).collect(),
        ok,
        failed,
        errors,
        secs: round(slowest, 2),
        wall_secs_with_process_start: round(wall, 2),
        connects_per_sec: round(ok as f64 / slowest.max(1e-9), 0),
        connect_time_per_worker: times,
    }
}

/// A worker child process.
struct WorkerProc {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl WorkerProc {
    /// Starts the `n`-th worker, on the `n`-th slice of users and the `n`-th
    /// source address.
    fn spawn(spawn: &Spawn<'_>, n: usize) -> Res<Self> {
        let from = n * spawn.per_worker;
        let to = spawn.users.min(from + spawn.per_worker);
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("worker");
        if spawn.quickack {
            cmd.arg("--quickack");
        }
        let mut child = cmd
            .args(["--ports", &ports_arg(spawn.ports)])
            .args(["--tokens", &spawn.tokens.display().to_string()])
            .args(["--from", &from.to_string(), "--to", &to.to_string()])
            .args(["--src", &source_ip(n).to_string()])
            .args(["--conc", &spawn.conc.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no worker stdin")?;
        let stdout = child.stdout.take().ok_or("no worker stdout")?;
        Ok(Self {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    async fn event(&mut self, limit: Duration) -> Res<Event> {
        match tokio::time::timeout(limit, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => Ok(serde_json::from_str(&line)?),
            Ok(Ok(None)) => Err("a worker exited".into()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err("a worker did not answer in time".into()),
        }
    }

    /// Waits for the `connected` event (up to 5 minutes).
    async fn connected(&mut self) -> Res<Connected> {
        match self.event(Duration::from_secs(300)).await? {
            Event::Connected(c) => Ok(c),
            Event::Report(_) => Err("a worker reported before connecting".into()),
        }
    }

    /// Waits for the answer to a `report` line (up to a minute).
    async fn report(&mut self) -> Res<Report> {
        match self.event(Duration::from_secs(60)).await? {
            Event::Report(r) => Ok(r),
            Event::Connected(_) => Err("a worker connected twice".into()),
        }
    }

    async fn send(&mut self, line: &str) -> Res<()> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    async fn quit(mut self) {
        let _ = self.send("quit").await;
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

fn ports_arg(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes `user<TAB>token` lines for the workers.
pub fn write_tokens(path: &Path, tokens: &[(String, String)]) -> Res<()> {
    let mut text = String::with_capacity(tokens.len() * 200);
    for (u, t) in tokens {
        text.push_str(u);
        text.push('\t');
        text.push_str(t);
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}
