//! `chat`: connected users, an open-loop sender at a fixed rate, and
//! send-to-receive latency measured from each message's scheduled time.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::args::Args;
use crate::client::{admin_token, http_client, session_tokens, source_ip, ws_connect};
use crate::seed;
use crate::server::ServerProc;
use crate::stats::{hist, now_us, record, summary, tag, LatencySummary};
use crate::worker::{read_loop, Seen};
use crate::Res;

use super::profile::{mark_window_start, CpuMarks, CpuUse};
use super::workers::{write_tokens, ConnectSummary, Spawn, Totals, Workers};
use super::{round, Ctx, ADMIN};

/// Options of `chat`.
#[derive(Debug, Clone)]
pub struct ChatOpts {
    pub users: usize,
    pub conversations: usize,
    pub rate: u64,
    pub duration: u64,
    pub warmup: u64,
    pub inflight: usize,
    pub per_worker: usize,
    pub profile: bool,
    /// Experiment: clients ACK at once (TCP_QUICKACK), see `read_loop`.
    pub quickack: bool,
    /// The server on the first core, the generator (this process and its
    /// workers) on the second (`taskset`), for the run.
    pub pin: bool,
}

impl ChatOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        let users = a.get("users", 10_000)?;
        Ok(Self {
            users,
            conversations: a.get("conversations", users / 2)?,
            rate: a.get("rate", 5_000)?,
            duration: a.get("duration", 20)?,
            warmup: a.get("warmup", 3)?,
            inflight: a.get("inflight", 512)?,
            per_worker: a.get("per-worker", 5_000)?,
            profile: a.flag("profile"),
            quickack: a.flag("quickack"),
            pin: a.flag("pin"),
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen chat --users {} --conversations {} --rate {} --duration {} --warmup {} --inflight {}{}{}{}",
            self.users,
            self.conversations,
            self.rate,
            self.duration,
            self.warmup,
            self.inflight,
            if self.profile { " --profile" } else { "" },
            if self.quickack { " --quickack" } else { "" },
            if self.pin { " --pin" } else { "" }
        )
    }
}

/// The result of `chat`. Rates are per second; "sustained" ones count
/// everything completed from the start of the measured window on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatResult {
    /// Always `chat`.
    pub scenario: String,
    pub command: String,
    pub users: usize,
    pub conversations: usize,
    pub rate_target: u64,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub max_in_flight: usize,
    pub connect: ConnectSummary,
    pub sockets_connected: u64,
    pub sockets_alive_at_end: u64,
    pub sockets_closed_during_run: u64,
    pub admin_socket_alive_at_end: bool,
    pub admin_socket_close: BTreeMap<String, u64>,
    pub user_socket_closes: BTreeMap<String, u64>,
    pub scheduled_sends: u64,
    pub issued_sends_total: u64,
    pub not_issued: u64,
    pub max_schedule_lag_ms: f64,
    pub ok_sends: u64,
    pub errors: BTreeMap<String, u64>,
    pub window_secs: f64,
    pub measured_sends_per_sec: f64,
    /// Sustained: 201s answered from the window's start on.
    pub sends_per_sec: f64,
    pub deliveries: u64,
    /// Sustained, at the receivers.
    pub deliveries_per_sec: f64,
    pub missing_deliveries: u64,
    pub admin_deliveries: u64,
    /// Sustained, at the admin socket.
    pub admin_deliveries_per_sec: f64,
    pub frames_received_by_users: u64,
    pub latency_receiver: LatencySummary,
    pub latency_admin: LatencySummary,
    pub latency_http_201: LatencySummary,
    pub server_cpu_cores: f64,
    pub server_cpu_cores_by_thread: BTreeMap<String, f64>,
    pub server_cpu_us_per_message: f64,
    pub generator_cpu_cores: f64,
    pub server_rss_kib_at_end: u64,
    /// Server RSS (KiB, all nodes summed) once a second from the start of
    /// the measured window until the last send was answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_rss_kib_samples: Vec<u64>,
    /// Server pinned to one core and the generator to the other.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
    pub server_log_lines: usize,
    /// The server's perf profile of the window (with `--profile`).
    pub profile: Option<String>,
}

/// Where a chat run's server runs.
#[derive(Debug, Clone)]
pub enum Deployment {
    /// One node on a fresh SQLite file (the `chat` scenario).
    Sqlite,
    /// `nodes` nodes on one PostgreSQL database, joined through Redis.
    Cluster {
        nodes: usize,
        database_url: String,
        redis_url: String,
        redis_prefix: String,
    },
}

/// A chat run with what it knows about each node.
pub struct ChatRun {
    pub result: ChatResult,
    /// Per node, in order: RSS at the end (KiB).
    pub node_rss_kib: Vec<u64>,
    /// Per node: CPU cores over the measured window.
    pub node_cpu_cores: Vec<f64>,
    /// Conversations whose two participants' sockets are on different nodes.
    pub conversations_across_nodes: usize,
}

/// `users` connected users in `conversations` conversations; an open-loop
/// sender posts at `rate` messages per second by the clock, and latency is
/// measured from each message's scheduled send time.
pub async fn chat(ctx: &Ctx, o: &ChatOpts) -> Res<ChatResult> {
    Ok(chat_on(ctx, o, &Deployment::Sqlite, "chat").await?.result)
}

/// [`chat`] on a given deployment, in scratch directory `dir_name`. Each
/// user's socket goes to node `i % nodes` (`i`: the user's place in the
/// plan: buyers, then merchants); a user's sends go through its own node,
/// so in a cluster the other participant usually receives them on another
/// node; the admin socket is on the first node.
pub async fn chat_on(
    ctx: &Ctx,
    o: &ChatOpts,
    deployment: &Deployment,
    dir_name: &str,
) -> Res<ChatRun> {
    let mut run = Setup::start(ctx, o, deployment, dir_name).await?;
    let clock = Clock::new(o);
    run.workers
        .send_all(&format!("mark {}", clock.measure_start_us))
        .await?;
    run.admin_seen
        .mark_us
        .store(clock.measure_start_us, Ordering::Relaxed);
    // At the start of the measured window (by the clock, whatever the
    // sender's backlog): CPU marks, and the profile when asked for.
    let marker = mark_window_start(
        clock.start + Duration::from_secs(o.warmup),
        run.pids(),
        run.workers.pids(),
        o.profile.then(|| (run.dir.clone(), o.duration.min(10))),
    );
    let rss = RssSampler::start(clock.start + Duration::from_secs(o.warmup), run.pids());
    let sent = Arc::new(Sent::new()?);
    let semaphore = Arc::new(Semaphore::new(o.inflight));
    let sending = send_open_loop(&run, &clock, &semaphore, &sent).await?;
    // Every send answered (or 60 s), then a moment for the last pushes.
    let _ = tokio::time::timeout(
        Duration::from_secs(60),
        semaphore.acquire_many(o.inflight as u32),
    )
    .await;
    let end = CpuMarks::take_all(&run.pids(), &run.workers.pids())?;
    let rss_samples = rss.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (start, profile) = marker.await.unwrap_or((None, None));
    let outcome = Outcome {
        cpu: CpuUse::between(start.as_ref().unwrap_or(&end), &end),
        totals: run.workers.report().await?,
        clock,
        sending,
        sent,
        profile,
        rss_samples,
    };
    let result = ChatResult::new(o, &run, &outcome)?;
    let node_rss_kib = run
        .servers
        .iter()
        .map(|s| s.rss_kib().unwrap_or(0))
        .collect();
    let node_cpu_cores = outcome.cpu.server_cores_per_process.clone();
    let conversations_across_nodes = run.sender_nodes.iter().filter(|[a, b]| a != b).count();
    run.workers.quit().await;
    if o.pin {
        pin(std::process::id(), None)?;
    }
    // Together: each node drains for `server.drain_secs` before it exits.
    for stopped in
        futures_util::future::join_all(run.servers.into_iter().map(ServerProc::stop)).await
    {
        stopped?;
    }
    Ok(ChatRun {
        result,
        node_rss_kib,
        node_cpu_cores,
        conversations_across_nodes,
    })
}

/// The server (or the nodes), the connected users and the admin socket,
/// ready to send.
struct Setup {
    dir: PathBuf,
    /// One node, or the nodes of a cluster (the first holds the admin socket).
    servers: Vec<ServerProc>,
    http: reqwest::Client,
    workers: Workers,
    connect: ConnectSummary,
    users: usize,
    /// Conversation `i + 1`'s participants with their tokens.
    senders: Vec<[(String, String); 2]>,
    /// The node each of those participants is connected to (and sends through).
    sender_nodes: Vec<[usize; 2]>,
    /// The admin socket, which sees every conversation's messages.
    admin_seen: Arc<Seen>,
}

impl Setup {
    async fn start(ctx: &Ctx, o: &ChatOpts, deployment: &Deployment, dir_name: &str) -> Res<Self> {
        let dir = ctx.dir(dir_name)?;
        let db_path = dir.join("bench.db");
        let (db_url, nodes, extra) = match deployment {
            Deployment::Sqlite => (db_path.display().to_string(), 1, Vec::new()),
            Deployment::Cluster {
                nodes,
                database_url,
                redis_url,
                redis_prefix,
            } => (
                database_url.clone(),
                (*nodes).max(1),
                vec![
                    ("DATABASE_URL", database_url.clone()),
                    ("REDIS_URL", redis_url.clone()),
                    ("LIVECHAT__REALTIME__REDIS_PREFIX", redis_prefix.clone()),
                ],
            ),
        };
        let (db, plan) = seed::chat_db_at(&db_url, o.users, o.conversations)?;
        livechat_server::admin_tools::create_admin(&db, ADMIN.0, ADMIN.1, ADMIN.2, 4)
            .map_err(|e| e.to_string())?;
        if matches!(deployment, Deployment::Sqlite) {
            seed::checkpoint(&db)?;
        }
        drop(db);
        if plan.pairs.is_empty() {
            return Err("chat: no conversation".into());
        }
        let mut servers = Vec::with_capacity(nodes);
        for n in 0..nodes {
            let log = if nodes == 1 {
                "server.log".to_string()
            } else {
                format!("server-{n}.log")
            };
            servers.push(
                ServerProc::start_with(
                    &ctx.server_bin,
                    &ctx.config_dir,
                    &dir,
                    &db_path,
                    &log,
                    &extra,
                )
                .await?,
            );
        }
        if o.pin {
            for s in &servers {
                pin(s.pid, Some(0))?;
            }
            // The workers started below inherit it.
            pin(std::process::id(), Some(1))?;
        }
        let base = servers[0].base();
        let http = http_client(o.inflight)?;
        let mut tokens = session_tokens(&http, &base, &plan.users, 32).await?;
        // In the plan's order, so that line i of the token file is user i.
        let place: HashMap<&str, usize> = plan
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.as_str(), i))
            .collect();
        tokens.sort_by_key(|(u, _)| place.get(u.as_str()).copied().unwrap_or(usize::MAX));
        let admin = admin_token(&http, &base, ADMIN.1, ADMIN.2).await?;
        let tokens_path = dir.join("tokens.tsv");
        write_tokens(&tokens_path, &tokens)?;
        let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
        let (workers, connect) = Workers::start(&Spawn {
            ports: &ports,
            tokens: &tokens_path,
            users: tokens.len(),
            per_worker: o.per_worker,
            conc: 200,
            quickack: o.quickack,
        })
        .await?;
        let admin_seen = admin_socket(servers[0].port, &admin, o.quickack).await?;
        let token_of: HashMap<String, String> = tokens.iter().cloned().collect();
        let node_of = |id: &String| place.get(id.as_str()).map_or(0, |i| i % nodes);
        let token = |id: &String| (id.clone(), token_of.get(id).cloned().unwrap_or_default());
        let senders = plan
            .pairs
            .iter()
            .map(|(b, m)| [token(b), token(m)])
            .collect();
        let sender_nodes = plan
            .pairs
            .iter()
            .map(|(b, m)| [node_of(b), node_of(m)])
            .collect();
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(Self {
            dir,
            servers,
            http,
            workers,
            connect,
            users: tokens.len(),
            senders,
            sender_nodes,
            admin_seen,
        })
    }

    /// The server processes' ids.
    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|s| s.pid).collect()
    }
}

/// Pins every thread of process `pid` to core `core`, or lets it run on
/// every online core again (`None`); threads it starts later inherit the
/// mask. The online cores come from the system, not from this process's
/// own mask, which a pinned run has narrowed.
fn pin(pid: u32, core: Option<usize>) -> Res<()> {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map_err(|e| format!("--pin: cannot read the online cores: {e}"))?;
    let online = online.trim();
    if core.is_some() && !online.contains(['-', ',']) {
        return Err(format!("--pin needs at least two cores (online: {online})").into());
    }
    let list = core.map_or_else(|| online.to_string(), |c| c.to_string());
    let out = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", &list, &pid.to_string()])
        .output()
        .map_err(|e| format!("--pin needs taskset (util-linux): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "taskset -a -p -c {list} {pid}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(())
}

/// Samples the servers' summed RSS once a second from `from` on, until
/// stopped.
struct RssSampler {
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<Vec<u64>>,
}

impl RssSampler {
    fn start(from: Instant, pids: Vec<u32>) -> Self {
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval_at(from.into(), Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = stopped.notified() => break,
                    _ = tick.tick() => {
                        let kib = pids.iter().map(|&p| crate::server::rss_kib(p)).sum::<Res<u64>>();
                        match kib {
                            Ok(kib) => samples.push(kib),
                            Err(_) => break,
                        }
                    }
                }
            }
            samples
        });
        Self { stop, task }
    }

    async fn stop(self) -> Vec<u64> {
        self.stop.notify_one();
        self.task.await.unwrap_or_default()
    }
}

/// Opens the admin's socket; it counts messages from any sender.
async fn admin_socket(port: u16, token: &str, quickack: bool) -> Res<Arc<Seen>> {
    let seen = Seen::new()?;
    seen.alive.fetch_add(1, Ordering::Relaxed);
    let ws = ws_connect(Some(source_ip(200)), port, ADMIN.0, token).await?;
    tokio::spawn(read_loop(
        ws,
        ADMIN.0.to_string(),
        seen.clone(),
        true,
        quickack,
    ));
    Ok(seen)
}

/// The open loop's schedule: send `i` is due at `start + i / rate`; the
/// first `warm_n` sends are the warm-up.
struct Clock {
    start: Instant,
    /// `start` on the wall clock, µs since the epoch.
    start_us: u64,
    rate: u64,
    warm_n: u64,
    total: u64,
    /// The sender stops issuing after this long.
    give_up: Duration,
    /// Start of the measured window, µs since the epoch.
    measure_start_us: u64,
}

impl Clock {
    fn new(o: &ChatOpts) -> Self {
        let lead = Duration::from_millis(300);
        let start = Instant::now() + lead;
        let start_us = now_us() + lead.as_micros() as u64;
        let rate = o.rate.max(1);
        Self {
            start,
            start_us,
            rate,
            warm_n: o.warmup * rate,
            total: (o.warmup + o.duration) * rate,
            give_up: Duration::from_secs(o.warmup + o.duration + 15),
            measure_start_us: start_us + o.warmup * 1_000_000,
        }
    }
}

/// What the sender saw.
struct Sent {
    latency: Mutex<Histogram<u64>>,
    ok: AtomicU64,
    last_ok_us: AtomicU64,
    /// 201s (warm-up sends too) answered at or after the measured window's start.
    done_after_mark: AtomicU64,
    last_done_us: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

impl Sent {
    fn new() -> Res<Self> {
        Ok(Self {
            latency: Mutex::new(hist()?),
            ok: AtomicU64::new(0),
            last_ok_us: AtomicU64::new(0),
            done_after_mark: AtomicU64::new(0),
            last_done_us: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
        })
    }

    fn error(&self, key: String) {
        if let Ok(mut e) = self.errors.lock() {
            *e.entry(key).or_default() += 1;
        }
    }
}

/// How the sender kept to its schedule.
struct Sending {
    issued: u64,
    max_lag_us: u64,
}

/// Issues the scheduled sends, each when due and at most `inflight` at a
/// time; gives up at `give_up`.
async fn send_open_loop(
    run: &Setup,
    clock: &Clock,
    semaphore: &Arc<Semaphore>,
    sent: &Arc<Sent>,
) -> Res<Sending> {
    let urls: Vec<String> = run
        .servers
        .iter()
        .map(|s| format!("{}/api/messages/", s.base()))
        .collect();
    let conversations = run.senders.len() as u64;
    let mut sending = Sending {
        issued: 0,
        max_lag_us: 0,
    };
    for i in 0..clock.total {
        let offset_us = i * 1_000_000 / clock.rate;
        let due = clock.start + Duration::from_micros(offset_us);
        if Instant::now() < due {
            tokio::time::sleep_until(due.into()).await;
        }
        if clock.start.elapsed() > clock.give_up {
            break;
        }
        let permit = semaphore.clone().acquire_owned().await?;
        let lag = Instant::now().saturating_duration_since(due).as_micros() as u64;
        sending.max_lag_us = sending.max_lag_us.max(lag);
        let conv = (i % conversations) as usize;
        let side = ((i / conversations) % 2) as usize;
        let (sender, token) = &run.senders[conv][side];
        let url = &urls[run.sender_nodes[conv][side]];
        let measured = i >= clock.warm_n;
        let sched_us = clock.start_us + offset_us;
        let body = format!(
            r#"{{"conversation_id":{},"message_type":"text","content":"{}"}}"#,
            conv + 1,
            tag(sched_us, sender, measured)
        );
        let req = run
            .http
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body);
        sending.issued += 1;
        let post = Post {
            sched_us,
            measured,
            mark_us: clock.measure_start_us,
        };
        tokio::spawn(post.send(req, sent.clone(), permit));
    }
    Ok(sending)
}

/// One scheduled send.
struct Post {
    sched_us: u64,
    measured: bool,
    /// Start of the measured window.
    mark_us: u64,
}

impl Post {
    /// Sends it and notes the outcome; the permit is released at the end.
    async fn send(
        self,
        req: reqwest::RequestBuilder,
        sent: Arc<Sent>,
        permit: OwnedSemaphorePermit,
    ) {
        let outcome = req.send().await;
        let done = now_us();
        match outcome {
            Ok(res) if res.status().as_u16() == 201 => {
                let _ = res.bytes().await;
                if done >= self.mark_us {
                    sent.done_after_mark.fetch_add(1, Ordering::Relaxed);
                    sent.last_done_us.fetch_max(done, Ordering::Relaxed);
                }
                if self.measured {
                    sent.ok.fetch_add(1, Ordering::Relaxed);
                    sent.last_ok_us.fetch_max(done, Ordering::Relaxed);
                    if let Ok(mut h) = sent.latency.lock() {
                        record(&mut h, done.saturating_sub(self.sched_us));
                    }
                }
            }
            Ok(res) => sent.error(format!("HTTP {}", res.status().as_u16())),
            Err(e) => sent.error(e.to_string().chars().take(80).collect()),
        }
        drop(permit);
    }
}

/// `count` events over the time from `mark_us` to `last_us`, rounded; 0
/// when none.
fn sustained_rate(count: u64, mark_us: u64, last_us: u64) -> f64 {
    let secs = last_us.saturating_sub(mark_us) as f64 / 1e6;
    if secs > 0.0 {
        round(count as f64 / secs, 0)
    } else {
        0.0
    }
}

/// What the run measured, from the sender, the workers and the server.
struct Outcome {
    clock: Clock,
    sending: Sending,
    sent: Arc<Sent>,
    totals: Totals,
    cpu: CpuUse,
    profile: Option<String>,
    rss_samples: Vec<u64>,
}

impl ChatResult {
    fn new(o: &ChatOpts, run: &Setup, outcome: &Outcome) -> Res<Self> {
        let Outcome {
            clock,
            sending,
            sent,
            totals,
            cpu,
            profile,
            rss_samples,
        } = outcome;
        let mark = clock.measure_start_us;
        let ok = sent.ok.load(Ordering::Relaxed);
        // The measured window: the scheduled one, or longer when the server
        // answered the last measured send later.
        let last_ok = sent.last_ok_us.load(Ordering::Relaxed);
        let window = (o.duration as f64)
            .max(last_ok.saturating_sub(mark) as f64 / 1e6)
            .max(1e-9);
        let done = sent.done_after_mark.load(Ordering::Relaxed);
        let admin = &run.admin_seen;
        let latency_of =
            |h: &Mutex<Histogram<u64>>| summary(&h.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(Self {
            scenario: "chat".into(),
            command: o.command(),
            users: run.users,
            conversations: run.senders.len(),
            rate_target: clock.rate,
            duration_secs: o.duration,
            warmup_secs: o.warmup,
            max_in_flight: o.inflight,
            connect: run.connect.clone(),
            sockets_connected: run.connect.ok,
            sockets_alive_at_end: totals.alive,
            sockets_closed_during_run: totals.closed,
            admin_socket_alive_at_end: admin.alive.load(Ordering::Relaxed) == 1,
            admin_socket_close: admin.close_codes(),
            user_socket_closes: totals.close_codes.clone(),
            scheduled_sends: o.duration * clock.rate,
            issued_sends_total: sending.issued,
            not_issued: clock.total - sending.issued,
            max_schedule_lag_ms: round(sending.max_lag_us as f64 / 1000.0, 1),
            ok_sends: ok,
            errors: sent
                .errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            window_secs: round(window, 2),
            measured_sends_per_sec: round(ok as f64 / window, 0),
            sends_per_sec: sustained_rate(done, mark, sent.last_done_us.load(Ordering::Relaxed)),
            deliveries: totals.deliveries,
            deliveries_per_sec: sustained_rate(totals.after_mark, mark, totals.last_after_mark_us),
            missing_deliveries: ok.saturating_sub(totals.deliveries),
            admin_deliveries: admin.deliveries.load(Ordering::Relaxed),
            admin_deliveries_per_sec: sustained_rate(
                admin.after_mark.load(Ordering::Relaxed),
                mark,
                admin.last_after_mark_us.load(Ordering::Relaxed),
            ),
            frames_received_by_users: totals.frames,
            latency_receiver: summary(&totals.latency),
            latency_admin: latency_of(&admin.latency),
            latency_http_201: latency_of(&sent.latency),
            server_cpu_cores: cpu.server_cores,
            server_cpu_cores_by_thread: cpu.server_cores_by_thread.clone(),
            server_cpu_us_per_message: if done > 0 {
                round(cpu.server_secs * 1e6 / done as f64, 1)
            } else {
                0.0
            },
            generator_cpu_cores: cpu.generator_cores,
            server_rss_kib_at_end: run
                .servers
                .iter()
                .map(ServerProc::rss_kib)
                .sum::<Res<u64>>()?,
            server_rss_kib_samples: rss_samples.clone(),
            pinned: o.pin,
            server_log_lines: run.servers.iter().map(ServerProc::log_lines).sum(),
            profile: profile.clone(),
        })
    }
}
