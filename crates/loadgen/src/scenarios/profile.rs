//! CPU accounting of a measured window (server, server threads, load
//! generator) and the optional perf profile of the server during it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::server::{cpu_secs, thread_cpu};
use crate::Res;

use super::round;

/// CPU counters read at one instant.
pub struct CpuMarks {
    server_secs: f64,
    /// Per server process, in the order given.
    per_server: Vec<f64>,
    generator_secs: f64,
    at: Instant,
    server_threads: HashMap<String, f64>,
}

impl CpuMarks {
    /// Reads the server's CPU time (per thread name too) and the
    /// generator's (this process and its workers).
    pub fn take(server_pid: u32, worker_pids: &[u32]) -> Res<Self> {
        Self::take_all(&[server_pid], worker_pids)
    }

    /// The same for several server processes (the nodes of a cluster),
    /// summed; threads of the same name on different nodes add up.
    pub fn take_all(server_pids: &[u32], worker_pids: &[u32]) -> Res<Self> {
        let mut server_secs = 0.0;
        let mut per_server = Vec::with_capacity(server_pids.len());
        let mut server_threads: HashMap<String, f64> = HashMap::new();
        for &pid in server_pids {
            let secs = cpu_secs(pid)?;
            server_secs += secs;
            per_server.push(secs);
            for (name, secs) in thread_cpu(pid) {
                *server_threads.entry(name).or_insert(0.0) += secs;
            }
        }
        Ok(Self {
            server_secs,
            per_server,
            generator_secs: gen_cpu(worker_pids),
            at: Instant::now(),
            server_threads,
        })
    }
}

/// CPU used between two marks.
pub struct CpuUse {
    pub server_secs: f64,
    /// Server cores, rounded to 2 decimals.
    pub server_cores: f64,
    /// Cores of each server process (the nodes of a cluster), in order.
    pub server_cores_per_process: Vec<f64>,
    /// Server cores per thread name (threads that used none left out).
    pub server_cores_by_thread: BTreeMap<String, f64>,
    /// Generator cores, rounded to 2 decimals.
    pub generator_cores: f64,
}

impl CpuUse {
    pub fn between(start: &CpuMarks, end: &CpuMarks) -> Self {
        let wall = end.at.saturating_duration_since(start.at).as_secs_f64();
        let cores = |secs: f64| round(secs / wall.max(1e-9), 2);
        let server_secs = end.server_secs - start.server_secs;
        let server_cores_by_thread = end
            .server_threads
            .iter()
            .map(|(name, secs)| {
                let before = start.server_threads.get(name).copied().unwrap_or(0.0);
                (name.clone(), cores(secs - before))
            })
            .filter(|(_, c)| *c > 0.0)
            .collect();
        Self {
            server_secs,
            server_cores: cores(server_secs),
            server_cores_per_process: end
                .per_server
                .iter()
                .zip(&start.per_server)
                .map(|(e, s)| cores(e - s))
                .collect(),
            server_cores_by_thread,
            generator_cores: cores(end.generator_secs - start.generator_secs),
        }
    }
}

/// At `at`, takes the CPU marks of the window's start and, when `profile`
/// names a directory and a duration, then profiles the server.
/// With several server processes the marks sum them and the profile is
/// the first one's.
pub fn mark_window_start(
    at: Instant,
    server_pids: Vec<u32>,
    worker_pids: Vec<u32>,
    profile: Option<(PathBuf, u64)>,
) -> JoinHandle<(Option<CpuMarks>, Option<String>)> {
    tokio::spawn(async move {
        tokio::time::sleep_until(at.into()).await;
        let marks = CpuMarks::take_all(&server_pids, &worker_pids).ok();
        let text = match (profile, server_pids.first()) {
            (Some((dir, secs)), Some(&pid)) => server_profile(pid, &dir, secs).await,
            _ => None,
        };
        (marks, text)
    })
}

/// CPU seconds of this process and its workers.
fn gen_cpu(workers: &[u32]) -> f64 {
    cpu_secs(std::process::id()).unwrap_or(0.0)
        + workers
            .iter()
            .map(|&pid| cpu_secs(pid).unwrap_or(0.0))
            .sum::<f64>()
}

/// Events counted by `perf stat` beside the profile.
const EVENTS: [&str; 12] = [
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

/// A flat CPU profile of the server for `secs` (perf, cpu-clock sampling):
/// event rates, the share of broad categories and the hottest symbols, as
/// text; `None` when perf is missing or refuses.
async fn server_profile(pid: u32, dir: &Path, secs: u64) -> Option<String> {
    let data = dir.join("perf.data");
    let counting = Command::new("perf")
        .args(["stat", "-x", ",", "-e", &EVENTS.join(","), "-p"])
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
    let counts = counted
        .map(|out| event_rates(&String::from_utf8_lossy(&out.stderr), secs))
        .unwrap_or_default();
    let symbols = hottest_symbols(&data).await?;
    Some(profile_text(&counts, &symbols))
}

/// `perf stat -x ,` output as one `  <rate>/s  <event>` line per event.
fn event_rates(perf_stat: &str, secs: u64) -> String {
    let mut counts = String::new();
    for line in perf_stat.lines() {
        let f: Vec<&str> = line.split(',').collect();
        if let (Some(v), Some(name)) = (f.first(), f.get(2)) {
            if let Ok(v) = v.parse::<f64>() {
                let name = name.trim_start_matches("syscalls:sys_enter_");
                counts.push_str(&format!("  {:>12.0}/s  {name}\n", v / secs.max(1) as f64));
            }
        }
    }
    counts
}

/// Self time per symbol from `perf report`, hottest first, in percent.
async fn hottest_symbols(data: &Path) -> Option<Vec<(f64, String)>> {
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
        .arg(data)
        .stderr(Stdio::null())
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut symbols: Vec<(f64, String)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let (pct, rest) = line.split_once('%')?;
            let pct = pct.trim().parse::<f64>().ok()?;
            Some((pct, rest.trim().to_string()))
        })
        .collect();
    symbols.sort_by(|a, b| b.0.total_cmp(&a.0));
    Some(symbols)
}

/// The profile as text: event rates (if any), shares by category, then
/// the 30 hottest symbols.
fn profile_text(counts: &str, symbols: &[(f64, String)]) -> String {
    let mut categories: Vec<(&str, f64)> = Vec::new();
    for (pct, sym) in symbols {
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
        o.push_str(counts);
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
    o.trim_end().to_string()
}

/// Categories of kernel symbols: the first whose keywords a symbol's
/// lowercase name contains wins; "kernel: other" when none does.
const KERNEL_CATEGORIES: &[(&str, &[&str])] = &[
    (
        "kernel: network, epoll",
        &[
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
        ],
    ),
    (
        "kernel: scheduling, futex wake-ups (thread hand-offs)",
        &[
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
        ],
    ),
    (
        "kernel: files (SQLite database and WAL I/O)",
        &[
            "filemap", "ext4", "vfs", "write", "read", "page", "fsync", "jbd2", "copy_",
        ],
    ),
];

/// Categories of user-space symbols, the same way; "other" when none
/// matches.
const USER_CATEGORIES: &[(&str, &[&str])] = &[
    (
        "SQLite (queries, FTS5 index, WAL)",
        &[
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
        ],
    ),
    (
        "allocator and memcpy (libc)",
        &[
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
        ],
    ),
    (
        "JSON (serde_json)",
        &["serde", "json", "format_escaped", "itoa", "ryu"],
    ),
    (
        "JWT, hashing, base64",
        &[
            "jsonwebtoken",
            "sha2",
            "hmac",
            "sha256",
            "base64",
            "compress",
        ],
    ),
    ("Diesel", &["diesel"]),
    (
        "actix, tokio, HTTP, WebSocket",
        &[
            "tokio",
            "actix",
            "mio",
            "h1",
            "http",
            "futures",
            "bytes",
            "ws",
            "tungstenite",
        ],
    ),
    (
        "libc threads and locks",
        &["pthread", "mutex", "lll_", "clone", "__libc"],
    ),
];

/// A broad category for a perf symbol (`[k] name` kernel, `[.] name` user).
fn category(sym: &str) -> &'static str {
    let kernel = sym.starts_with("[k]");
    let name = sym
        .trim_start_matches("[k]")
        .trim_start_matches("[.]")
        .trim()
        .to_lowercase();
    let (table, otherwise) = if kernel {
        (KERNEL_CATEGORIES, "kernel: other")
    } else {
        (USER_CATEGORIES, "other")
    };
    table
        .iter()
        .find(|(_, keys)| keys.iter().any(|k| name.contains(k)))
        .map_or(otherwise, |(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_fall_in_the_first_matching_category() {
        assert_eq!(category("[k] tcp_sendmsg"), "kernel: network, epoll");
        assert_eq!(
            category("[k] futex_wake"),
            "kernel: scheduling, futex wake-ups (thread hand-offs)"
        );
        assert_eq!(category("[k] do_idle"), "kernel: other");
        assert_eq!(
            category("[.] sqlite3VdbeExec"),
            "SQLite (queries, FTS5 index, WAL)"
        );
        // The JSON category comes first, and "json" matches this too.
        assert_eq!(category("[.] jsonwebtoken::decode"), "JSON (serde_json)");
        assert_eq!(category("[.] main"), "other");
    }

    #[test]
    fn perf_stat_lines_become_rates() {
        let text = "2000,,context-switches,1,100.00,,\n500,,syscalls:sys_enter_futex,1,100.00,,\n<not counted>,,x,,,\n";
        assert_eq!(
            event_rates(text, 2),
            "          1000/s  context-switches\n           250/s  futex\n"
        );
    }
}
