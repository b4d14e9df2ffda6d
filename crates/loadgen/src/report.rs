//! `bench`: the default set of runs at the targets' conditions, written to
//! docs/benchmarks.md (between markers, leaving the rest of the file alone)
//! and docs/benchmarks.json.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use crate::args::Args;
use crate::scenarios::{self, ChatOpts, ConnOpts, Ctx, HistoryOpts, StoreOpts};
use crate::server::environment;
use crate::Res;

const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";

/// Target figures.
const TARGET_RATE: f64 = 20_000.0;
const TARGET_P99_MS: f64 = 10.0;
const TARGET_LATENCY_RATE: f64 = 5_000.0;
const TARGET_LATENCY_SOCKETS: u64 = 10_000;
const TARGET_SOCKETS: u64 = 18_000;
const TARGET_KIB_PER_SOCKET: f64 = 16.0;
const TARGET_QUERY_P99_MS: f64 = 5.0;

fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn machine() -> Value {
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
    json!({
        "cpu": model,
        "cores": cores,
        "memory_gib": (mem_kib as f64 / 1_048_576.0 * 10.0).round() / 10.0,
        "kernel": command_output("uname", &["-r"]),
        "open_files_limit": command_output("sh", &["-c", "ulimit -n"]),
    })
}

fn commit() -> Value {
    let head = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let status = command_output("git", &["status", "--porcelain"]);
    json!({
        "commit": head,
        "dirty": !status.is_empty(),
        "changed_paths": status.lines().count(),
    })
}

/// The 1-minute load average: the machine is shared, so a busy one shows.
fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn utc_now() -> String {
    command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
}

/// Runs the default set and rewrites the documents.
pub async fn bench(ctx: &Ctx, args: &Args) -> Res<Value> {
    let quick = args.flag("quick");
    let md = args.str("md", "docs/benchmarks.md");
    let json_path = args.str("json", "docs/benchmarks.json");
    let perf = std::process::Command::new("perf")
        .arg("--version")
        .output()
        .is_ok();
    let scale = |n: usize, q: usize| if quick { q } else { n };
    let conn = ConnOpts {
        sockets: scale(18_000, 2_000),
        per_worker: 4_500,
        conc: 100,
        hold_secs: if quick { 3 } else { 15 },
    };
    let latency = ChatOpts {
        users: scale(10_000, 1_000),
        conversations: scale(5_000, 500),
        rate: if quick { 500 } else { 5_000 },
        duration: if quick { 3 } else { 20 },
        warmup: if quick { 1 } else { 3 },
        inflight: 512,
        per_worker: 5_000,
        profile: false,
        quickack: false,
    };
    let sustainable = ChatOpts {
        rate: if quick { 200 } else { 1_000 },
        duration: if quick { 3 } else { 15 },
        ..latency.clone()
    };
    let throughput = ChatOpts {
        users: scale(2_000, 200),
        conversations: scale(1_000, 100),
        rate: if quick { 2_000 } else { 20_000 },
        duration: if quick { 3 } else { 10 },
        // No warm-up: at saturation a warm-up's backlog would delay every
        // measured send; the sustained rate counts from the start anyway.
        warmup: 0,
        inflight: 512,
        per_worker: 5_000,
        profile: perf && !quick,
        quickack: false,
    };
    let history = HistoryOpts {
        messages: scale(1_000_000, 50_000),
        conversations: scale(100_000, 5_000),
        long: scale(100_000, 5_000),
        merchant_conversations: scale(10_000, 1_000),
        requests: scale(300, 30),
        budget_secs: 15,
    };
    let store = StoreOpts {
        messages: scale(20_000, 2_000),
        batch: 100,
    };
    let started = utc_now();
    eprintln!("bench: connections ({})", conn.command());
    let load = loadavg();
    let mut c = scenarios::connections(ctx, &conn).await?;
    c["loadavg_before_after"] = json!([load, loadavg()]);
    eprintln!("bench: chat latency ({})", latency.command());
    let load = loadavg();
    let mut l = scenarios::chat(ctx, &latency).await?;
    l["loadavg_before_after"] = json!([load, loadavg()]);
    eprintln!("bench: chat, sustainable rate ({})", sustainable.command());
    let load = loadavg();
    let mut su = scenarios::chat(ctx, &sustainable).await?;
    su["loadavg_before_after"] = json!([load, loadavg()]);
    eprintln!("bench: chat throughput ({})", throughput.command());
    let load = loadavg();
    let mut t = scenarios::chat(ctx, &throughput).await?;
    t["loadavg_before_after"] = json!([load, loadavg()]);
    eprintln!("bench: history ({})", history.command());
    let load = loadavg();
    let mut h = scenarios::history(ctx, &history).await?;
    h["loadavg_before_after"] = json!([load, loadavg()]);
    eprintln!("bench: store ({})", store.command());
    let load = loadavg();
    let mut st = scenarios::store(ctx, &store).await?;
    st["loadavg_before_after"] = json!([load, loadavg()]);
    let env: Vec<String> = environment(Path::new("<temp>/bench.db"), Path::new("<temp>/media"))
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let all = json!({
        "generated": started,
        "quick": quick,
        "machine": machine(),
        "source": commit(),
        "server_environment": env,
        "commands": {
            "bench": "just bench",
            "connections": conn.command(),
            "chat_latency": latency.command(),
            "chat_sustainable": sustainable.command(),
            "chat_throughput": throughput.command(),
            "history": history.command(),
            "store": store.command(),
        },
        "connections": c,
        "chat_latency": l,
        "chat_sustainable": su,
        "chat_throughput": t,
        "history": h,
        "store": st,
    });
    std::fs::write(&json_path, serde_json::to_string_pretty(&all)? + "\n")?;
    write_markdown(Path::new(&md), &render(&all))?;
    eprintln!("bench: wrote {md} and {json_path}");
    Ok(targets(&all))
}

/// Replaces the generated section (or appends it), keeping the rest.
fn write_markdown(path: &Path, section: &str) -> Res<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(START), old.find(END)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{section}{}", &old[..a], &old[b + END.len()..])
        }
        _ if old.trim().is_empty() => format!("# Benchmarks\n\n{section}\n"),
        _ => format!("{}\n\n{section}\n", old.trim_end()),
    };
    std::fs::write(path, new)?;
    Ok(())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

fn n(x: f64) -> String {
    if x.is_nan() {
        return "–".into();
    }
    let s = format!("{:.0}", x);
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}")
}

/// One row per target: (target, conditions, result, verdict).
fn target_rows(all: &Value) -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    let t = &all["chat_throughput"];
    let sends = f(&t["sends_per_sec"]);
    let deliv = f(&t["deliveries_per_sec"]);
    rows.push([
        format!("≥ {} messages/s persisted and delivered", n(TARGET_RATE)),
        format!(
            "open loop at {}/s for {} s, {} conversations, {} sockets + 1 admin",
            n(f(&t["rate_target"])),
            u(&t["duration_secs"]),
            n(f(&t["conversations"])),
            n(f(&t["sockets_connected"]))
        ),
        format!(
            "{} persisted/s, {} delivered/s (to the receiver; admin {}/s), p99 {} ms",
            n(sends),
            n(deliv),
            n(f(&t["admin_deliveries_per_sec"])),
            f(&t["latency_receiver"]["p99_ms"])
        ),
        yes(sends >= TARGET_RATE && deliv >= TARGET_RATE).into(),
    ]);
    let l = &all["chat_latency"];
    let achieved = f(&l["sends_per_sec"]);
    let sockets = u(&l["sockets_connected"]);
    let p99 = f(&l["latency_receiver"]["p99_ms"]);
    let below = achieved < TARGET_LATENCY_RATE * 0.98 || sockets < TARGET_LATENCY_SOCKETS;
    rows.push([
        format!(
            "p99 send-to-receive < {} ms at {} msg/s with {} sockets",
            TARGET_P99_MS,
            n(TARGET_LATENCY_RATE),
            n(TARGET_LATENCY_SOCKETS as f64)
        ),
        format!(
            "open loop at {}/s for {} s, {} sockets connected, {} conversations{}",
            n(f(&l["rate_target"])),
            u(&l["duration_secs"]),
            n(sockets as f64),
            n(f(&l["conversations"])),
            if below {
                format!(
                    " — **below the target's conditions**: {}/s achieved",
                    n(achieved)
                )
            } else {
                String::new()
            }
        ),
        format!(
            "receiver p50 {} / p99 {} / max {} ms; admin p99 {} ms; {}/s achieved. Same sockets at {}/s: receiver p99 {} ms, admin p99 {} ms",
            f(&l["latency_receiver"]["p50_ms"]),
            p99,
            f(&l["latency_receiver"]["max_ms"]),
            f(&l["latency_admin"]["p99_ms"]),
            n(achieved),
            n(f(&all["chat_sustainable"]["sends_per_sec"])),
            f(&all["chat_sustainable"]["latency_receiver"]["p99_ms"]),
            f(&all["chat_sustainable"]["latency_admin"]["p99_ms"])
        ),
        if below {
            format!("{} (run below conditions)", yes(false))
        } else {
            yes(p99 < TARGET_P99_MS).into()
        },
    ]);
    let c = &all["connections"];
    let ok = u(&c["connect"]["ok"]);
    let kib = f(&c["rss_per_socket_kib"]);
    rows.push([
        format!(
            "{} concurrent sockets at < {} KiB server RSS each",
            n(TARGET_SOCKETS as f64),
            TARGET_KIB_PER_SOCKET
        ),
        format!(
            "{} sockets over {} worker processes, held {} s{}",
            n(f(&c["target_sockets"])),
            u(&c["connect"]["workers"]),
            u(&c["hold_secs"]),
            if u(&c["target_sockets"]) < TARGET_SOCKETS {
                " — **below the target's conditions**"
            } else {
                ""
            }
        ),
        format!(
            "{} connected ({} failed, {} alive after the hold), {} KiB/socket, {}/s connect rate",
            n(ok as f64),
            n(f(&c["connect"]["failed"])),
            n(f(&c["alive_at_end_of_hold"])),
            kib,
            n(f(&c["connect"]["connects_per_sec"]))
        ),
        yes(ok >= TARGET_SOCKETS
            && u(&c["alive_at_end_of_hold"]) >= TARGET_SOCKETS
            && kib < TARGET_KIB_PER_SOCKET)
        .into(),
    ]);
    let h = &all["history"];
    let small = u(&h["messages"]) < 1_000_000;
    for (key, label) in [
        ("conversation_list", "conversation list p99 < 5 ms"),
        ("history_deep_page", "history page (deep) p99 < 5 ms"),
        ("history_newest_page", "history page (newest) p99 < 5 ms"),
        ("search_3plus_chars", "search (≥ 3 chars) p99 < 5 ms"),
        ("search_2_chars", "search (2 chars) p99 < 5 ms"),
    ] {
        let r = &h["results"][key];
        let p99 = f(&r["p99_ms"]);
        rows.push([
            label.into(),
            format!(
                "{} messages, {} conversations{}",
                n(f(&h["messages"])),
                n(f(&h["conversations"])),
                if small {
                    " — **below the target's conditions**"
                } else {
                    ""
                }
            ),
            format!(
                "p50 {} / p99 {} ms ({} requests)",
                f(&r["p50_ms"]),
                p99,
                u(&r["count"])
            ),
            yes(!small && p99 < TARGET_QUERY_P99_MS).into(),
        ]);
    }
    rows
}

/// The verdicts, as printed at the end of `bench`.
fn targets(all: &Value) -> Value {
    Value::Array(
        target_rows(all)
            .into_iter()
            .map(|[t, c, r, v]| json!({ "target": t, "conditions": c, "result": r, "verdict": v }))
            .collect(),
    )
}

fn lat_row(out: &mut String, name: &str, s: &Value) {
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} |",
        n(f(&s["count"])),
        f(&s["p50_ms"]),
        f(&s["p90_ms"]),
        f(&s["p99_ms"]),
        f(&s["p999_ms"]),
        f(&s["max_ms"])
    );
}

/// The generated section of docs/benchmarks.md.
fn render(all: &Value) -> String {
    let mut o = String::new();
    let m = &all["machine"];
    let s = &all["source"];
    let _ = writeln!(o, "{START}");
    let _ = writeln!(o, "## Load and latency\n");
    let _ = writeln!(
        o,
        "_Generated by `just bench` on {}; do not edit between the bench markers (the next run rewrites it)._\n",
        all["generated"].as_str().unwrap_or("")
    );
    if all["quick"].as_bool().unwrap_or(false) {
        let _ = writeln!(o, "**Quick run (`--quick`): every scenario scaled down, far below the targets' conditions.**\n");
    }
    let _ = writeln!(
        o,
        "- Machine: {}, {} cores (`nproc`), {} GiB RAM, Linux {}; open files limit {} per process. The load generator (its parent and worker processes) runs on the same machine and shares the cores with the server.",
        m["cpu"].as_str().unwrap_or(""),
        m["cores"],
        m["memory_gib"],
        m["kernel"].as_str().unwrap_or(""),
        m["open_files_limit"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        o,
        "- Source: commit `{}`{}.",
        s["commit"].as_str().unwrap_or(""),
        if s["dirty"].as_bool().unwrap_or(false) {
            format!(
                ", **working tree dirty** ({} changed or new paths)",
                s["changed_paths"]
            )
        } else {
            ", clean tree".into()
        }
    );
    let env: Vec<&str> = all["server_environment"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "- Server: release build of `livechat-server`, started by the generator as a child process on a fresh temporary SQLite database, with `{}`; workers = cores; users are written into the database before start (no demo data); chat tokens come from `POST /api/auth/session`, the admin's from `POST /api/auth/login`.\n",
        env.join(" ")
    );
    let _ = writeln!(o, "Commands:\n\n```sh\njust bench   # = cargo build --release -p livechat-server -p livechat-loadgen && target/release/livechat-loadgen bench");
    for key in [
        "connections",
        "chat_latency",
        "chat_sustainable",
        "chat_throughput",
        "history",
        "store",
    ] {
        let _ = writeln!(o, "{}", all["commands"][key].as_str().unwrap_or(""));
    }
    let _ = writeln!(o, "```\n");
    let _ = writeln!(o, "### Targets\n");
    let _ = writeln!(o, "| target | conditions of this run | result | verdict |");
    let _ = writeln!(o, "|---|---|---|---|");
    for [t, c, r, v] in target_rows(all) {
        let _ = writeln!(o, "| {t} | {c} | {r} | {v} |");
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "### Chat: send-to-receive\n");
    let _ = writeln!(o, "Open loop: sends are scheduled by the clock at the fixed rate and latency counts from the *scheduled* time, so a server that falls behind shows it. A send is `POST /api/messages/`; the timestamp travels in the message text; the receiver is the other participant's socket, the admin socket sees every message. Sends alternate between the two participants of each conversation; at most `--inflight` requests are outstanding.\n");
    let (l, su, t) = (
        &all["chat_latency"],
        &all["chat_sustainable"],
        &all["chat_throughput"],
    );
    let _ = writeln!(
        o,
        "| | latency run (target: {}/s) | same sockets at {}/s | throughput run |",
        n(f(&l["rate_target"])),
        n(f(&su["rate_target"]))
    );
    let _ = writeln!(o, "|---|---|---|---|");
    let rows: [(&str, &str); 23] = [
        (
            "1-min load average before / after (2 cores)",
            "loadavg_before_after",
        ),
        ("sockets connected (+1 admin)", "sockets_connected"),
        ("conversations", "conversations"),
        ("target rate (msg/s)", "rate_target"),
        ("measured window (s)", "window_secs"),
        ("sends persisted (201)", "ok_sends"),
        (
            "persisted per second (sustained, from the window's start)",
            "sends_per_sec",
        ),
        (
            "delivered to receivers per second (sustained)",
            "deliveries_per_sec",
        ),
        ("missing deliveries", "missing_deliveries"),
        (
            "delivered to the admin per second",
            "admin_deliveries_per_sec",
        ),
        ("sends not issued in time (generator gave up)", "not_issued"),
        ("largest schedule lag (ms)", "max_schedule_lag_ms"),
        ("sockets closed during the run", "sockets_closed_during_run"),
        (
            "admin socket still open at the end",
            "admin_socket_alive_at_end",
        ),
        ("how the admin socket ended", "admin_socket_close"),
        ("how user sockets ended", "user_socket_closes"),
        ("server CPU (cores)", "server_cpu_cores"),
        ("server CPU per message (µs)", "server_cpu_us_per_message"),
        (
            "server CPU by thread name (cores)",
            "server_cpu_cores_by_thread",
        ),
        ("generator CPU (cores)", "generator_cpu_cores"),
        ("server RSS at the end (KiB)", "server_rss_kib_at_end"),
        ("server log lines (warn and above)", "server_log_lines"),
        ("errors", "errors"),
    ];
    for (label, key) in rows {
        let _ = writeln!(
            o,
            "| {label} | {} | {} | {} |",
            cell(&l[key]),
            cell(&su[key]),
            cell(&t[key])
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| latency (ms) | count | p50 | p90 | p99 | p99.9 | max |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    lat_row(&mut o, "latency run: receiver", &l["latency_receiver"]);
    lat_row(&mut o, "latency run: admin", &l["latency_admin"]);
    lat_row(&mut o, "latency run: sender's 201", &l["latency_http_201"]);
    lat_row(
        &mut o,
        "sustainable rate: receiver",
        &su["latency_receiver"],
    );
    lat_row(&mut o, "sustainable rate: admin", &su["latency_admin"]);
    lat_row(
        &mut o,
        "sustainable rate: sender's 201",
        &su["latency_http_201"],
    );
    lat_row(&mut o, "throughput run: receiver", &t["latency_receiver"]);
    lat_row(&mut o, "throughput run: admin", &t["latency_admin"]);
    lat_row(
        &mut o,
        "throughput run: sender's 201",
        &t["latency_http_201"],
    );
    let _ = writeln!(o);

    let c = &all["connections"];
    let _ = writeln!(o, "### Concurrent sockets\n");
    let _ = writeln!(o, "Each worker process holds a slice of the users' sockets from its own source address (127.0.0.2, 127.0.0.3, …) to stay under the per-process open-files limit and the ephemeral-port range; a socket counts as connected when its first frame (`online_users`, sent after the token check) arrives. RSS is the server's `VmRSS` from `/proc/<pid>/status`, read after the tokens were issued and again at the end of the hold.\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let crow = |o: &mut String, k: &str, v: String| {
        let _ = writeln!(o, "| {k} | {v} |");
    };
    crow(
        &mut o,
        "1-min load average before / after (2 cores)",
        cell(&c["loadavg_before_after"]),
    );
    crow(&mut o, "sockets asked for", cell(&c["target_sockets"]));
    crow(&mut o, "worker processes", cell(&c["connect"]["workers"]));
    crow(
        &mut o,
        "connected / failed",
        format!(
            "{} / {}",
            cell(&c["connect"]["ok"]),
            cell(&c["connect"]["failed"])
        ),
    );
    crow(&mut o, "connect errors", cell(&c["connect"]["errors"]));
    crow(
        &mut o,
        "ramp time (s), connects per second",
        format!(
            "{}, {}",
            cell(&c["connect"]["secs"]),
            cell(&c["connect"]["connects_per_sec"])
        ),
    );
    crow(
        &mut o,
        "server CPU during the ramp (s)",
        cell(&c["server_cpu_secs_during_ramp"]),
    );
    crow(
        &mut o,
        "alive after the hold / closed during it",
        format!(
            "{} / {}",
            cell(&c["alive_at_end_of_hold"]),
            cell(&c["closed_during_hold"])
        ),
    );
    crow(
        &mut o,
        "server RSS before / at plateau / peak (KiB)",
        format!(
            "{} / {} / {}",
            cell(&c["rss_before_kib"]),
            cell(&c["rss_plateau_kib"]),
            cell(&c["rss_peak_kib"])
        ),
    );
    crow(
        &mut o,
        "server RSS per socket (KiB)",
        cell(&c["rss_per_socket_kib"]),
    );
    crow(
        &mut o,
        "server open files before / at plateau",
        format!(
            "{} / {}",
            cell(&c["server_fds_before"]),
            cell(&c["server_fds_at_plateau"])
        ),
    );
    crow(
        &mut o,
        "chat tokens issued (per second)",
        format!(
            "{} ({}/s)",
            cell(&c["tokens"]["count"]),
            cell(&c["tokens"]["per_sec"])
        ),
    );
    let _ = writeln!(o);

    let h = &all["history"];
    let _ = writeln!(o, "### History and search on a large database\n");
    let _ = writeln!(
        o,
        "{} messages over {} conversations ({} buyers, {} merchants); merchant m0 has {} conversations; conversation 1 (b0 with m0) has {} messages. Built in {} s by the generator (migrations by `Db::open`, then multi-row INSERTs in 100,000-row transactions; the search index fills through its trigger); {} MB on disk. Requests are sequential (one at a time) after 5 warm-up requests; the time is the client's, over loopback. 1-min load average before / after: {}.\n",
        n(f(&h["messages"])),
        n(f(&h["conversations"])),
        n(f(&h["buyers"])),
        n(f(&h["merchants"])),
        n(f(&h["merchant_conversations"])),
        n(f(&h["long_conversation_messages"])),
        cell(&h["build_secs"]),
        n(f(&h["database_bytes"]) / 1e6),
        cell(&h["loadavg_before_after"])
    );
    let _ = writeln!(
        o,
        "| query | matches (`count`) | requests | p50 | p90 | p99 | max (ms) |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    for key in [
        "conversation_list",
        "history_newest_page",
        "history_deep_page",
        "search_3plus_chars",
        "search_2_chars",
    ] {
        let r = &h["results"][key];
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            h["queries"][key].as_str().unwrap_or(key),
            cell(&r["count_in_answer"]),
            cell(&r["count"]),
            cell(&r["p50_ms"]),
            cell(&r["p90_ms"]),
            cell(&r["p99_ms"]),
            cell(&r["max_ms"])
        );
    }
    let _ = writeln!(o);
    let st = &all["store"];
    let _ = writeln!(o, "### The send transaction alone\n");
    let _ = writeln!(o, "`livechat_store::messages::send` (the server's own function) called in a loop on one connection, {} messages per row, 1,000 conversations, no HTTP and no sockets: the ceiling SQLite puts on sends on this machine. 1-min load average before / after: {}.\n", n(f(&st["messages_each"])), cell(&st["loadavg_before_after"]));
    let _ = writeln!(o, "| | messages/s |\n|---|---|");
    let _ = writeln!(
        o,
        "| one immediate transaction per message (as the server does) | {} |",
        n(f(&st["one_transaction_per_message_per_sec"]))
    );
    let _ = writeln!(
        o,
        "| {} messages per transaction (group commit) | {} |",
        u(&st["batch"]),
        n(f(&st["batched_per_sec"]))
    );
    let _ = writeln!(
        o,
        "| one per transaction, search-index trigger dropped | {} |",
        n(f(&st["without_search_trigger_one_per_transaction_per_sec"]))
    );
    let _ = writeln!(
        o,
        "| {} per transaction, search-index trigger dropped | {} |",
        u(&st["batch"]),
        n(f(&st["without_search_trigger_batched_per_sec"]))
    );
    let _ = writeln!(o);
    if let Some(p) = t["profile"].as_str() {
        let _ = writeln!(o, "### Server profile during the throughput run\n");
        let _ = writeln!(o, "`perf record -F 999 -e cpu-clock -p <server>` for up to 10 s of the measured window, `perf report --no-children --sort symbol` (flat: self time per function, hottest first):\n");
        let _ = writeln!(o, "```\n{p}\n```\n");
    }
    let _ = writeln!(
        o,
        "The raw figures of this run are in `docs/benchmarks.json`."
    );
    let _ = write!(o, "{END}");
    o
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::Number(x) => {
            let x = x.as_f64().unwrap_or(f64::NAN);
            if x.fract() == 0.0 && x.abs() >= 1000.0 {
                n(x)
            } else {
                format!("{x}")
            }
        }
        Value::Object(m) if m.is_empty() => "none".into(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", cell(v)))
            .collect::<Vec<_>>()
            .join("; "),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(" / "),
        other => other.to_string(),
    }
}
