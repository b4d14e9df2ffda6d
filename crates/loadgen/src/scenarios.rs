//! The scenarios: `connections`, `chat`, `history`; each starts its own
//! server on its own temporary database and answers a JSON result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

use crate::args::Args;
use crate::client::{admin_token, http_client, session_tokens, source_ip, ws_connect};
use crate::seed;
use crate::server::{cpu_secs, thread_cpu, ServerProc};
use crate::stats::{hist, merge_encoded, now_us, record, summary, tag};
use crate::worker::{read_loop, Seen};
use crate::Res;

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

/// A worker child process.
struct WorkerProc {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl WorkerProc {
    fn spawn(
        port: u16,
        tokens: &Path,
        from: usize,
        to: usize,
        n: usize,
        conc: usize,
        quickack: bool,
    ) -> Res<Self> {
        let exe = std::env::current_exe()?;
        let mut cmd = Command::new(exe);
        cmd.arg("worker");
        if quickack {
            cmd.arg("--quickack");
        }
        let mut child = cmd
            .args(["--port", &port.to_string()])
            .args(["--tokens", &tokens.display().to_string()])
            .args(["--from", &from.to_string(), "--to", &to.to_string()])
            .args(["--src", &source_ip(n).to_string()])
            .args(["--conc", &conc.to_string()])
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

    async fn event(&mut self, limit: Duration) -> Res<Value> {
        match tokio::time::timeout(limit, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => Ok(serde_json::from_str(&line)?),
            Ok(Ok(None)) => Err("a worker exited".into()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err("a worker did not answer in time".into()),
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

/// Spawns workers over `tokens` (a slice of `per_worker` users each, each
/// from its own source address) and waits until all have connected.
async fn spawn_workers(
    port: u16,
    tokens: &Path,
    users: usize,
    per_worker: usize,
    conc: usize,
    quickack: bool,
) -> Res<(Vec<WorkerProc>, Value)> {
    let count = users.div_ceil(per_worker.max(1));
    let mut workers = Vec::with_capacity(count);
    let started = Instant::now();
    for n in 0..count {
        let from = n * per_worker;
        let to = users.min(from + per_worker);
        workers.push(WorkerProc::spawn(
            port, tokens, from, to, n, conc, quickack,
        )?);
    }
    let (mut ok, mut failed, mut slowest) = (0u64, 0u64, 0f64);
    let mut errors: HashMap<String, u64> = HashMap::new();
    let mut connect = Vec::new();
    for w in &mut workers {
        let e = w.event(Duration::from_secs(300)).await?;
        ok += e["ok"].as_u64().unwrap_or(0);
        failed += e["failed"].as_u64().unwrap_or(0);
        slowest = slowest.max(e["secs"].as_f64().unwrap_or(0.0));
        if let Some(map) = e["errors"].as_object() {
            for (k, v) in map {
                *errors.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
            }
        }
        connect.push(e["connect"].clone());
    }
    let wall = started.elapsed().as_secs_f64();
    Ok((
        workers,
        json!({
            "workers": count,
            "source_addresses": (0..count).map(|n| source_ip(n).to_string()).collect::<Vec<_>>(),
            "ok": ok,
            "failed": failed,
            "errors": errors,
            "secs": round(slowest, 2),
            "wall_secs_with_process_start": round(wall, 2),
            "connects_per_sec": round(ok as f64 / slowest.max(1e-9), 0),
            "connect_time_per_worker": connect,
        }),
    ))
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn write_tokens(path: &Path, tokens: &[(String, String)]) -> Res<()> {
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

/// Ramps to `sockets` authenticated sockets, holds them, reads the server's
/// RSS before and at the plateau.
pub async fn connections(ctx: &Ctx, o: &ConnOpts) -> Res<Value> {
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
    let (workers, connect) = spawn_workers(
        server.port,
        &tokens_path,
        tokens.len(),
        o.per_worker,
        o.conc,
        false,
    )
    .await?;
    let cpu_connect = server.cpu_secs()? - cpu0;
    let mut samples = Vec::new();
    for _ in 0..o.hold_secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(server.rss_kib()?);
    }
    let rss_plateau = samples.last().copied().unwrap_or(server.rss_kib()?);
    let rss_peak = samples.iter().copied().max().unwrap_or(rss_plateau);
    let fds_plateau = server.fds();
    let mut workers = workers;
    let (mut alive, mut closed) = (0u64, 0u64);
    for w in &mut workers {
        w.send("report").await?;
        let e = w.event(Duration::from_secs(60)).await?;
        alive += e["alive"].as_u64().unwrap_or(0);
        closed += e["closed"].as_u64().unwrap_or(0);
    }
    let ok = connect["ok"].as_u64().unwrap_or(0);
    let per_socket_kib = if ok > 0 {
        (rss_plateau.saturating_sub(rss_before)) as f64 / ok as f64
    } else {
        0.0
    };
    let log_lines = server.log_lines();
    for w in workers {
        w.quit().await;
    }
    server.stop().await?;
    Ok(json!({
        "scenario": "connections",
        "command": o.command(),
        "target_sockets": o.sockets,
        "tokens": { "count": tokens.len(), "secs": round(token_secs, 2), "per_sec": round(tokens.len() as f64 / token_secs.max(1e-9), 0) },
        "connect": connect,
        "server_cpu_secs_during_ramp": round(cpu_connect, 2),
        "hold_secs": o.hold_secs,
        "alive_at_end_of_hold": alive,
        "closed_during_hold": closed,
        "server_fds_before": fds_before,
        "server_fds_at_plateau": fds_plateau,
        "rss_before_kib": rss_before,
        "rss_plateau_kib": rss_plateau,
        "rss_peak_kib": rss_peak,
        "rss_per_socket_kib": round(per_socket_kib, 2),
        "server_log_lines": log_lines,
    }))
}

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
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen chat --users {} --conversations {} --rate {} --duration {} --warmup {} --inflight {}{}{}",
            self.users,
            self.conversations,
            self.rate,
            self.duration,
            self.warmup,
            self.inflight,
            if self.profile { " --profile" } else { "" },
            if self.quickack { " --quickack" } else { "" }
        )
    }
}

/// What the sender saw.
struct Sent {
    latency: Mutex<hdrhistogram::Histogram<u64>>,
    ok: AtomicU64,
    last_ok_us: AtomicU64,
    /// 201s (warm-up sends too) answered at or after the measured window's start.
    done_after_mark: AtomicU64,
    last_done_us: AtomicU64,
    errors: Mutex<HashMap<String, u64>>,
}

/// `users` connected users in `conversations` conversations; an open-loop
/// sender posts at `rate` messages per second by the clock, and latency is
/// measured from each message's scheduled send time.
pub async fn chat(ctx: &Ctx, o: &ChatOpts) -> Res<Value> {
    let dir = ctx.dir("chat")?;
    let db_path = dir.join("bench.db");
    let (db, plan) = seed::chat_db(&db_path, o.users, o.conversations)?;
    livechat_server::admin_tools::create_admin(&db, ADMIN.0, ADMIN.1, ADMIN.2, 4)
        .map_err(|e| e.to_string())?;
    seed::checkpoint(&db)?;
    drop(db);
    let conversations = plan.pairs.len();
    if conversations == 0 {
        return Err("chat: no conversation".into());
    }
    let server = ServerProc::start(&ctx.server_bin, &ctx.config_dir, &dir, &db_path).await?;
    let base = server.base();
    let http = http_client(o.inflight)?;
    let tokens = session_tokens(&http, &base, &plan.users, 32).await?;
    let admin = admin_token(&http, &base, ADMIN.1, ADMIN.2).await?;
    let token_of: HashMap<String, String> = tokens.iter().cloned().collect();
    let tokens_path = dir.join("tokens.tsv");
    write_tokens(&tokens_path, &tokens)?;
    let (mut workers, connect) = spawn_workers(
        server.port,
        &tokens_path,
        tokens.len(),
        o.per_worker,
        200,
        o.quickack,
    )
    .await?;
    // The admin socket watches every conversation; any sender counts.
    let admin_seen = Seen::new()?;
    admin_seen.alive.fetch_add(1, Ordering::Relaxed);
    let admin_ws = ws_connect(Some(source_ip(200)), server.port, ADMIN.0, &admin).await?;
    tokio::spawn(read_loop(
        admin_ws,
        ADMIN.0.to_string(),
        admin_seen.clone(),
        true,
        o.quickack,
    ));
    let senders: Vec<[(String, String); 2]> = plan
        .pairs
        .iter()
        .map(|(b, m)| {
            let tb = token_of.get(b).cloned().unwrap_or_default();
            let tm = token_of.get(m).cloned().unwrap_or_default();
            [(b.clone(), tb), (m.clone(), tm)]
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let sent = Arc::new(Sent {
        latency: Mutex::new(hist()?),
        ok: AtomicU64::new(0),
        last_ok_us: AtomicU64::new(0),
        done_after_mark: AtomicU64::new(0),
        last_done_us: AtomicU64::new(0),
        errors: Mutex::new(HashMap::new()),
    });
    let url = format!("{base}/api/messages/");
    let semaphore = Arc::new(Semaphore::new(o.inflight));
    let lead = Duration::from_millis(300);
    let start = Instant::now() + lead;
    let start_us = now_us() + lead.as_micros() as u64;
    let rate = o.rate.max(1);
    let warm_n = o.warmup * rate;
    let total = (o.warmup + o.duration) * rate;
    let give_up = Duration::from_secs(o.warmup + o.duration + 15);
    let measure_start_us = start_us + o.warmup * 1_000_000;
    for w in &mut workers {
        w.send(&format!("mark {measure_start_us}")).await?;
    }
    admin_seen
        .mark_us
        .store(measure_start_us, Ordering::Relaxed);
    let mut issued = 0u64;
    let mut max_lag_us = 0u64;
    // At the start of the measured window (by the clock, whatever the
    // sender's backlog): CPU marks, and the profile when asked for.
    let pids: Vec<u32> = workers.iter().filter_map(|w| w.child.id()).collect();
    let marker = {
        let (server_pid, dir, profile_secs, profiling) =
            (server.pid, dir.clone(), o.duration.min(10), o.profile);
        let at = start + Duration::from_secs(o.warmup);
        tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let marks = (
                cpu_secs(server_pid).unwrap_or(0.0),
                gen_cpu(&pids),
                Instant::now(),
                thread_cpu(server_pid),
            );
            let text = if profiling {
                profile(server_pid, dir, profile_secs).await
            } else {
                None
            };
            (marks, text)
        })
    };
    for i in 0..total {
        let offset_us = i * 1_000_000 / rate;
        let due = start + Duration::from_micros(offset_us);
        if Instant::now() < due {
            tokio::time::sleep_until(due.into()).await;
        }
        if start.elapsed() > give_up {
            break;
        }
        let permit = semaphore.clone().acquire_owned().await?;
        let lag = Instant::now().saturating_duration_since(due).as_micros() as u64;
        max_lag_us = max_lag_us.max(lag);
        let conv = (i % conversations as u64) as usize;
        let side = ((i / conversations as u64) % 2) as usize;
        let (sender, token) = &senders[conv][side];
        let measured = i >= warm_n;
        let sched_us = start_us + offset_us;
        let body = format!(
            r#"{{"conversation_id":{},"message_type":"text","content":"{}"}}"#,
            conv + 1,
            tag(sched_us, sender, measured)
        );
        let req = http
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body);
        let sent = sent.clone();
        issued += 1;
        tokio::spawn(async move {
            let outcome = req.send().await;
            let done = now_us();
            match outcome {
                Ok(res) if res.status().as_u16() == 201 => {
                    let _ = res.bytes().await;
                    if done >= measure_start_us {
                        sent.done_after_mark.fetch_add(1, Ordering::Relaxed);
                        sent.last_done_us.fetch_max(done, Ordering::Relaxed);
                    }
                    if measured {
                        sent.ok.fetch_add(1, Ordering::Relaxed);
                        sent.last_ok_us.fetch_max(done, Ordering::Relaxed);
                        if let Ok(mut h) = sent.latency.lock() {
                            record(&mut h, done.saturating_sub(sched_us));
                        }
                    }
                }
                Ok(res) => {
                    let key = format!("HTTP {}", res.status().as_u16());
                    if let Ok(mut e) = sent.errors.lock() {
                        *e.entry(key).or_default() += 1;
                    }
                }
                Err(e) => {
                    let key: String = e.to_string().chars().take(80).collect();
                    if let Ok(mut e) = sent.errors.lock() {
                        *e.entry(key).or_default() += 1;
                    }
                }
            }
            drop(permit);
        });
    }
    // Every send answered (or 60 s), then a moment for the last pushes.
    let _ = tokio::time::timeout(
        Duration::from_secs(60),
        semaphore.acquire_many(o.inflight as u32),
    )
    .await;
    let pids: Vec<u32> = workers.iter().filter_map(|w| w.child.id()).collect();
    let (server_cpu_now, gen_cpu_now, now, threads_now) = (
        server.cpu_secs()?,
        gen_cpu(&pids),
        Instant::now(),
        thread_cpu(server.pid),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ((cpu_s0, cpu_g0, t0, threads0), profile_text) = marker
        .await
        .unwrap_or(((server_cpu_now, gen_cpu_now, now, HashMap::new()), None));
    let measured_wall = now.saturating_duration_since(t0).as_secs_f64();
    // Cores used per thread name over the measured window.
    let mut threads: Vec<(String, f64)> = threads_now
        .iter()
        .map(|(name, secs)| {
            let before = threads0.get(name).copied().unwrap_or(0.0);
            (
                name.clone(),
                round((secs - before) / measured_wall.max(1e-9), 2),
            )
        })
        .filter(|(_, cores)| *cores > 0.0)
        .collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    let threads: serde_json::Map<String, Value> =
        threads.into_iter().map(|(k, v)| (k, json!(v))).collect();
    let server_cpu = server_cpu_now - cpu_s0;
    let gen_cpu_used = gen_cpu_now - cpu_g0;

    let mut receiver = hist()?;
    let (mut deliveries, mut alive, mut closed, mut frames) = (0u64, 0u64, 0u64, 0u64);
    let (mut after_mark, mut last_delivery) = (0u64, 0u64);
    let mut close_codes: HashMap<String, u64> = HashMap::new();
    for w in &mut workers {
        w.send("report").await?;
        let e = w.event(Duration::from_secs(60)).await?;
        deliveries += e["deliveries"].as_u64().unwrap_or(0);
        alive += e["alive"].as_u64().unwrap_or(0);
        closed += e["closed"].as_u64().unwrap_or(0);
        frames += e["frames"].as_u64().unwrap_or(0);
        after_mark += e["after_mark"].as_u64().unwrap_or(0);
        if let Some(map) = e["close_codes"].as_object() {
            for (k, v) in map {
                *close_codes.entry(k.clone()).or_default() += v.as_u64().unwrap_or(0);
            }
        }
        last_delivery = last_delivery.max(e["last_after_mark_us"].as_u64().unwrap_or(0));
        merge_encoded(&mut receiver, e["latency"].as_str().unwrap_or(""))?;
    }
    let ok = sent.ok.load(Ordering::Relaxed);
    let last_ok = sent.last_ok_us.load(Ordering::Relaxed);
    // The measured window: the scheduled one, or longer when the server
    // answered the last measured send later.
    let window = (o.duration as f64)
        .max(last_ok.saturating_sub(measure_start_us) as f64 / 1e6)
        .max(1e-9);
    let errors = sent.errors.lock().map(|e| e.clone()).unwrap_or_default();
    let http_latency = sent
        .latency
        .lock()
        .map(|h| summary(&h))
        .unwrap_or(Value::Null);
    let admin_latency = admin_seen
        .latency
        .lock()
        .map(|h| summary(&h))
        .unwrap_or(Value::Null);
    let admin_deliveries = admin_seen.deliveries.load(Ordering::Relaxed);
    let scheduled = o.duration * rate;
    // Sustained rates: everything the server completed from the start of the
    // measured window on (warm-up sends still in the queue included), over
    // the time it took; the honest figure when the server cannot keep up.
    let per_sec = |count: u64, last: u64| {
        let secs = last.saturating_sub(measure_start_us) as f64 / 1e6;
        if secs > 0.0 {
            round(count as f64 / secs, 0)
        } else {
            0.0
        }
    };
    let done = sent.done_after_mark.load(Ordering::Relaxed);
    let sustained_sends = per_sec(done, sent.last_done_us.load(Ordering::Relaxed));
    let sustained_deliveries = per_sec(after_mark, last_delivery);
    let sustained_admin = per_sec(
        admin_seen.after_mark.load(Ordering::Relaxed),
        admin_seen.last_after_mark_us.load(Ordering::Relaxed),
    );
    let log_lines = server.log_lines();
    let rss = server.rss_kib()?;
    let admin_alive = admin_seen.alive.load(Ordering::Relaxed) == 1;
    let admin_close = admin_seen
        .close_codes
        .lock()
        .map(|c| json!(*c))
        .unwrap_or(Value::Null);
    for w in workers {
        w.quit().await;
    }
    server.stop().await?;
    Ok(json!({
        "scenario": "chat",
        "command": o.command(),
        "users": tokens.len(),
        "conversations": conversations,
        "rate_target": rate,
        "duration_secs": o.duration,
        "warmup_secs": o.warmup,
        "max_in_flight": o.inflight,
        "connect": connect,
        "sockets_connected": connect["ok"],
        "sockets_alive_at_end": alive,
        "sockets_closed_during_run": closed,
        "admin_socket_alive_at_end": admin_alive,
        "admin_socket_close": admin_close,
        "user_socket_closes": close_codes,
        "scheduled_sends": scheduled,
        "issued_sends_total": issued,
        "not_issued": total - issued,
        "max_schedule_lag_ms": round(max_lag_us as f64 / 1000.0, 1),
        "ok_sends": ok,
        "errors": errors,
        "window_secs": round(window, 2),
        "measured_sends_per_sec": round(ok as f64 / window, 0),
        "sends_per_sec": sustained_sends,
        "deliveries": deliveries,
        "deliveries_per_sec": sustained_deliveries,
        "missing_deliveries": ok.saturating_sub(deliveries),
        "admin_deliveries": admin_deliveries,
        "admin_deliveries_per_sec": sustained_admin,
        "frames_received_by_users": frames,
        "latency_receiver": summary(&receiver),
        "latency_admin": admin_latency,
        "latency_http_201": http_latency,
        "server_cpu_cores": round(server_cpu / measured_wall.max(1e-9), 2),
        "server_cpu_cores_by_thread": threads,
        "server_cpu_us_per_message": if done > 0 { round(server_cpu * 1e6 / done as f64, 1) } else { 0.0 },
        "generator_cpu_cores": round(gen_cpu_used / measured_wall.max(1e-9), 2),
        "server_rss_kib_at_end": rss,
        "server_log_lines": log_lines,
        "profile": profile_text,
    }))
}

/// CPU seconds of this process and its workers.
fn gen_cpu(workers: &[u32]) -> f64 {
    cpu_secs(std::process::id()).unwrap_or(0.0)
        + workers
            .iter()
            .map(|&pid| cpu_secs(pid).unwrap_or(0.0))
            .sum::<f64>()
}

/// A flat CPU profile of the server for `secs` (perf, cpu-clock sampling):
/// the hottest symbols and the share of broad categories, as text; `None`
/// when perf is missing or refuses.
async fn profile(pid: u32, dir: PathBuf, secs: u64) -> Option<String> {
    let data = dir.join("perf.data");
    let events = [
        "context-switches",
        "syscalls:sys_enter_futex",
        "syscalls:sys_enter_fdatasync",
        "syscalls:sys_enter_fsync",
        "syscalls:sys_enter_pwrite64",
        "syscalls:sys_enter_pread64",
        "syscalls:sys_enter_write",
        "syscalls:sys_enter_writev",
        "syscalls:sys_enter_sendto",
        "syscalls:sys_enter_recvfrom",
        "syscalls:sys_enter_read",
        "syscalls:sys_enter_epoll_wait",
    ];
    let counting = Command::new("perf")
        .args(["stat", "-x", ",", "-e", &events.join(","), "-p"])
        .arg(pid.to_string())
        .args(["--", "sleep", &secs.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let recording = Command::new("perf")
        .args(["record", "-q", "-F", "999", "-e", "cpu-clock", "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(&data)
        .args(["--", "sleep", &secs.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let (counted, status) = tokio::join!(counting, recording);
    if !status.ok()?.success() {
        return None;
    }
    let mut counts = String::new();
    if let Ok(out) = counted {
        for line in String::from_utf8_lossy(&out.stderr).lines() {
            let f: Vec<&str> = line.split(',').collect();
            if let (Some(v), Some(name)) = (f.first(), f.get(2)) {
                if let Ok(v) = v.parse::<f64>() {
                    let name = name.trim_start_matches("syscalls:sys_enter_");
                    counts.push_str(&format!("  {:>12.0}/s  {name}\n", v / secs.max(1) as f64));
                }
            }
        }
    }
    let out = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "--sort",
            "sym",
            "-F",
            "overhead,sym",
            "--percent-limit",
            "0",
            "-i",
        ])
        .arg(&data)
        .stderr(Stdio::null())
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut symbols: Vec<(f64, String)> = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let Some((pct, rest)) = line.split_once('%') else {
            continue;
        };
        let Ok(pct) = pct.trim().parse::<f64>() else {
            continue;
        };
        symbols.push((pct, rest.trim().to_string()));
    }
    symbols.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut categories: Vec<(&str, f64)> = Vec::new();
    for (pct, sym) in &symbols {
        let c = category(sym);
        match categories.iter_mut().find(|(k, _)| *k == c) {
            Some(e) => e.1 += pct,
            None => categories.push((c, *pct)),
        }
    }
    categories.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut o = String::new();
    if !counts.is_empty() {
        o.push_str("server events per second (perf stat, same window):\n");
        o.push_str(&counts);
    }
    o.push_str("share of server CPU samples by category:\n");
    for (c, pct) in &categories {
        o.push_str(&format!("  {pct:6.2}%  {c}\n"));
    }
    o.push_str("hottest symbols (self time):\n");
    for (pct, sym) in symbols.iter().take(30) {
        let sym: String = sym.chars().take(110).collect();
        o.push_str(&format!("  {pct:6.2}%  {sym}\n"));
    }
    Some(o.trim_end().to_string())
}

/// A broad category for a perf symbol (`[k] name` kernel, `[.] name` user).
fn category(sym: &str) -> &'static str {
    let kernel = sym.starts_with("[k]");
    let name = sym
        .trim_start_matches("[k]")
        .trim_start_matches("[.]")
        .trim();
    let l = name.to_lowercase();
    let any = |keys: &[&str]| keys.iter().any(|k| l.contains(k));
    if kernel {
        if any(&[
            "tcp",
            "ip_",
            "ipv4",
            "skb",
            "sock",
            "net_",
            "loopback",
            "napi",
            "__dev",
            "epoll",
            "ep_",
            "sys_sendto",
            "recv",
            "send",
        ]) {
            "kernel: network, epoll"
        } else if any(&[
            "sched",
            "task_switch",
            "futex",
            "wake",
            "spin_unlock",
            "schedule",
            "switch_",
            "enqueue",
            "dequeue",
            "update_curr",
            "pick_next",
        ]) {
            "kernel: scheduling, futex wake-ups (thread hand-offs)"
        } else if any(&[
            "filemap", "ext4", "vfs", "write", "read", "page", "fsync", "jbd2", "copy_",
        ]) {
            "kernel: files (SQLite database and WAL I/O)"
        } else {
            "kernel: other"
        }
    } else if any(&[
        "sqlite",
        "vdbe",
        "btree",
        "pager",
        "pcache",
        "wal",
        "fts5",
        "trigram",
        "balance_",
        "moveto",
        "cell",
        "getandinit",
    ]) {
        "SQLite (queries, FTS5 index, WAL)"
    } else if any(&[
        "malloc",
        "free",
        "_int_",
        "realloc",
        "memcpy",
        "memmove",
        "memset",
        "alloc",
        "consolidate",
        "unlink_chunk",
    ]) {
        "allocator and memcpy (libc)"
    } else if any(&["serde", "json", "format_escaped", "itoa", "ryu"]) {
        "JSON (serde_json)"
    } else if any(&[
        "jsonwebtoken",
        "sha2",
        "hmac",
        "sha256",
        "base64",
        "compress",
    ]) {
        "JWT, hashing, base64"
    } else if any(&["diesel"]) {
        "Diesel"
    } else if any(&[
        "tokio",
        "actix",
        "mio",
        "h1",
        "http",
        "futures",
        "bytes",
        "ws",
        "tungstenite",
    ]) {
        "actix, tokio, HTTP, WebSocket"
    } else if any(&["pthread", "mutex", "lll_", "clone", "__libc"]) {
        "libc threads and locks"
    } else {
        "other"
    }
}

/// Options of `history`.
#[derive(Debug, Clone)]
pub struct HistoryOpts {
    pub messages: usize,
    pub conversations: usize,
    pub long: usize,
    pub merchant_conversations: usize,
    pub requests: usize,
    pub budget_secs: u64,
}

impl HistoryOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        Ok(Self {
            messages: a.get("messages", 1_000_000)?,
            conversations: a.get("conversations", 100_000)?,
            long: a.get("long", 100_000)?,
            merchant_conversations: a.get("merchant-conversations", 10_000)?,
            requests: a.get("requests", 300)?,
            budget_secs: a.get("budget", 15)?,
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen history --messages {} --conversations {} --long {} --merchant-conversations {} --requests {} --budget {}",
            self.messages, self.conversations, self.long, self.merchant_conversations, self.requests, self.budget_secs
        )
    }
}

/// Times sequential GETs of one kind (one at a time: the latency of a
/// single request, not of a queue).
async fn time_requests(
    http: &reqwest::Client,
    token: &str,
    urls: &[String],
    requests: usize,
    budget: Duration,
) -> Res<Value> {
    let mut h = hist()?;
    let mut statuses: HashMap<u16, u64> = HashMap::new();
    let mut count_field = Value::Null;
    // Warm-up: the first requests fill SQLite's page cache.
    for url in urls.iter().cycle().take(5) {
        let res = http.get(url).bearer_auth(token).send().await?;
        let body: Value = res.json().await?;
        if count_field.is_null() {
            count_field = body["count"].clone();
        }
    }
    let started = Instant::now();
    for url in urls.iter().cycle().take(requests) {
        if started.elapsed() > budget {
            break;
        }
        let t = Instant::now();
        let res = http.get(url).bearer_auth(token).send().await?;
        let status = res.status().as_u16();
        let _ = res.bytes().await?;
        record(&mut h, t.elapsed().as_micros() as u64);
        *statuses.entry(status).or_default() += 1;
    }
    let mut s = summary(&h);
    s["statuses"] = json!(statuses);
    s["count_in_answer"] = count_field;
    Ok(s)
}

/// A 1,000,000-message database; p50/p99 of the conversation list, deep
/// history pages and search.
pub async fn history(ctx: &Ctx, o: &HistoryOpts) -> Res<Value> {
    let dir = ctx.dir("history")?;
    let db_path = dir.join("bench.db");
    let shape = seed::HistoryShape {
        messages: o.messages,
        conversations: o.conversations,
        long: o.long,
        merchant_conversations: o.merchant_conversations,
        other_merchants: 99,
    };
    let built = seed::history_db(&db_path, shape)?;
    livechat_server::admin_tools::create_admin(&built.db, ADMIN.0, ADMIN.1, ADMIN.2, 4)
        .map_err(|e| e.to_string())?;
    seed::checkpoint(&built.db)?;
    let build_secs = built.secs;
    let long_ids = built.long_ids.clone();
    let (buyers, merchants) = (built.buyers, built.merchants);
    drop(built);
    let db_bytes = seed::file_size(&db_path);
    let server = ServerProc::start(&ctx.server_bin, &ctx.config_dir, &dir, &db_path).await?;
    let base = server.base();
    let http = http_client(4)?;
    let tokens = session_tokens(&http, &base, &["m0".to_string(), "b0".to_string()], 2).await?;
    let token = |id: &str| {
        tokens
            .iter()
            .find(|(u, _)| u == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let (merchant, buyer) = (token("m0"), token("b0"));
    let admin = admin_token(&http, &base, ADMIN.1, ADMIN.2).await?;
    let budget = Duration::from_secs(o.budget_secs);
    // Deep cursors: ids from the older half of the long conversation.
    let deep: Vec<String> = (0..64)
        .map(|k| {
            // From 5% to 50% of the way back from the oldest message.
            let len = long_ids.len();
            let (lo, hi) = (len / 20, (len / 2).max(len / 20 + 1));
            let idx = lo + (k * 7_919) % (hi - lo);
            let id = long_ids.get(idx).copied().unwrap_or(1);
            format!("{base}/api/conversations/1/messages?page_size=50&before_id={id}")
        })
        .collect();
    let q3 = "退款申请";
    let q2 = "发票";
    let search = |q: &str| {
        let mut u = reqwest::Url::parse(&format!("{base}/api/messages/")).ok();
        if let Some(u) = u.as_mut() {
            u.query_pairs_mut().append_pair("q", q);
        }
        u.map(|u| u.to_string()).unwrap_or_default()
    };
    let mut results = serde_json::Map::new();
    results.insert(
        "conversation_list".into(),
        time_requests(
            &http,
            &merchant,
            &[format!("{base}/api/conversations/?page_size=20")],
            o.requests,
            budget,
        )
        .await?,
    );
    results.insert(
        "history_newest_page".into(),
        time_requests(
            &http,
            &buyer,
            &[format!("{base}/api/conversations/1/messages?page_size=50")],
            o.requests,
            budget,
        )
        .await?,
    );
    results.insert(
        "history_deep_page".into(),
        time_requests(&http, &buyer, &deep, o.requests, budget).await?,
    );
    results.insert(
        "search_3plus_chars".into(),
        time_requests(&http, &admin, &[search(q3)], o.requests, budget).await?,
    );
    results.insert(
        "search_2_chars".into(),
        time_requests(&http, &admin, &[search(q2)], o.requests, budget).await?,
    );
    let log_lines = server.log_lines();
    server.stop().await?;
    Ok(json!({
        "scenario": "history",
        "command": o.command(),
        "messages": o.messages,
        "conversations": o.conversations,
        "long_conversation_messages": long_ids.len(),
        "merchant_conversations": o.merchant_conversations,
        "buyers": buyers,
        "merchants": merchants,
        "build_secs": round(build_secs, 1),
        "database_bytes": db_bytes,
        "queries": {
            "conversation_list": "GET /api/conversations/?page_size=20 as merchant m0 (10,000 conversations)",
            "history_newest_page": "GET /api/conversations/1/messages?page_size=50 as b0 (100,000-message conversation)",
            "history_deep_page": "GET /api/conversations/1/messages?page_size=50&before_id=<an id in the older half> as b0",
            "search_3plus_chars": format!("GET /api/messages/?q={q3} as admin (FTS5 trigram from 3 characters)"),
            "search_2_chars": format!("GET /api/messages/?q={q2} as admin (LIKE scan under 3 characters)"),
        },
        "results": results,
        "server_log_lines": log_lines,
    }))
}

/// Options of `store`.
#[derive(Debug, Clone)]
pub struct StoreOpts {
    pub messages: usize,
    pub batch: usize,
}

impl StoreOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        Ok(Self {
            messages: a.get("messages", 20_000)?,
            batch: a.get("batch", 100)?,
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen store --messages {} --batch {}",
            self.messages, self.batch
        )
    }
}

/// The store's send transaction alone, without HTTP or sockets: the
/// server's own `livechat_store::messages::send` on one connection, one
/// immediate transaction per message (as the server does) and then
/// `batch` messages per transaction (group commit). Shows how much of a
/// send is SQLite and what batching would buy.
pub async fn store(ctx: &Ctx, o: &StoreOpts) -> Res<Value> {
    let dir = ctx.dir("store")?;
    let db_path = dir.join("bench.db");
    let (db, plan) = seed::chat_db(&db_path, 2_000, 1_000)?;
    let pairs = plan.pairs;
    let message = |i: usize| {
        let conv = i % pairs.len();
        let side = if (i / pairs.len()) & 1 == 0 {
            livechat_domain::Side::Customer
        } else {
            livechat_domain::Side::Agent
        };
        let sender = match side {
            livechat_domain::Side::Customer => pairs[conv].0.clone(),
            livechat_domain::Side::Agent => pairs[conv].1.clone(),
        };
        let new = livechat_store::models::NewMessage {
            conversation_id: conv as i64 + 1,
            sender_id: sender,
            message_type: "text".into(),
            content: format!("lg {} store benchmark message {i}", now_us()),
            client_msg_id: None,
            upload_id: None,
            file_name: None,
            file_size: None,
            mime: None,
            thumbnail_path: None,
            width: None,
            height: None,
            duration_ms: None,
            order_snapshot: None,
            created_at: (now_us() / 1000) as i64,
        };
        (new, side)
    };
    let run = |from: usize, batch: usize| -> Res<f64> {
        let started = Instant::now();
        let mut i = from;
        while i < from + o.messages {
            let end = (i + batch).min(from + o.messages);
            let items: Vec<_> = (i..end).map(&message).collect();
            db.write_blocking(move |c| {
                for (new, side) in items {
                    livechat_store::messages::send(c, new, side)?;
                }
                Ok(())
            })?;
            i = end;
        }
        Ok(o.messages as f64 / started.elapsed().as_secs_f64())
    };
    let single = run(0, 1)?;
    let batched = run(o.messages, o.batch.max(1))?;
    // The same without the search index's trigger: what FTS5 costs a send.
    db.write_blocking(|c| {
        use diesel::connection::SimpleConnection;
        Ok(c.batch_execute("DROP TRIGGER IF EXISTS messages_fts_insert")?)
    })?;
    let single_no_fts = run(2 * o.messages, 1)?;
    let batched_no_fts = run(3 * o.messages, o.batch.max(1))?;
    let bytes = seed::file_size(&db_path);
    drop(db);
    Ok(json!({
        "scenario": "store",
        "command": o.command(),
        "messages_each": o.messages,
        "one_transaction_per_message_per_sec": round(single, 0),
        "batch": o.batch,
        "batched_per_sec": round(batched, 0),
        "without_search_trigger_one_per_transaction_per_sec": round(single_no_fts, 0),
        "without_search_trigger_batched_per_sec": round(batched_no_fts, 0),
        "database_bytes": bytes,
    }))
}
