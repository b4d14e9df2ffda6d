//! The server under test, started as a child process (release binary) so
//! its pid, RSS, CPU time and open files can be read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::Res;

/// The JWT secret of every run (production settings refuse the default one).
pub const JWT_SECRET: &str = "loadgen-benchmark-secret-0123456789abcdef";

/// The settings every run uses, as environment variables (documented in
/// docs/benchmarks.md).
pub fn environment(db: &Path, media: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("LIVECHAT_ENV", "production".into()),
        ("HOST", "127.0.0.1".into()),
        ("PORT", "0".into()),
        ("BASE_URL", "http://127.0.0.1:8000".into()),
        ("DATABASE_URL", db.display().to_string()),
        ("MEDIA_DIR", media.display().to_string()),
        ("JWT_SECRET_KEY", JWT_SECRET.into()),
        ("CHAT_IDENTITY", "trusted".into()),
        ("SEED_DEMO", "false".into()),
        ("RUST_LOG", "warn".into()),
        ("LIVECHAT__LIMITS__SENDS_PER_MINUTE", "1000000".into()),
        // Every simulated client connects from this one machine.
        ("LIVECHAT__LIMITS__SOCKETS_PER_IP", "1000000".into()),
    ]
}

/// A running server.
pub struct ServerProc {
    child: Child,
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
}

impl ServerProc {
    /// Starts `bin` on `db` and waits for its "listening" line (port 0, so
    /// the system picks a free port and the line names it).
    pub async fn start(bin: &Path, config_dir: &Path, dir: &Path, db: &Path) -> Res<Self> {
        Self::start_with(bin, config_dir, dir, db, "server.log", &[]).await
    }

    /// Like [`ServerProc::start`], logging to `dir/<log_name>`, with `extra`
    /// variables set after (and so overriding) [`environment`]'s: a cluster
    /// node gets its PostgreSQL `DATABASE_URL`, `REDIS_URL` and prefix here.
    pub async fn start_with(
        bin: &Path,
        config_dir: &Path,
        dir: &Path,
        db: &Path,
        log_name: &str,
        extra: &[(&str, String)],
    ) -> Res<Self> {
        let log = dir.join(log_name);
        let err = std::fs::File::create(&log)?;
        let media = dir.join("media");
        std::fs::create_dir_all(&media)?;
        let mut cmd = Command::new(bin);
        for (k, v) in environment(db, &media) {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.env("LIVECHAT_CONFIG_DIR", config_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id().ok_or("the server exited at once")?;
        let stdout = child.stdout.take().ok_or("no server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let wait = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("livechat listening on http://") {
                    let addr = rest.split(' ').next().unwrap_or_default();
                    let port = addr.rsplit(':').next().unwrap_or_default().parse::<u16>()?;
                    return Ok::<u16, Box<dyn std::error::Error + Send + Sync>>(port);
                }
            }
            Err("the server exited before listening".into())
        };
        let port = match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(Ok(port)) => port,
            Ok(Err(e)) => {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("{e}; server log:\n{text}").into());
            }
            Err(_) => return Err("the server did not start within 60 s".into()),
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            pid,
            port,
            log,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Resident set size in KiB.
    pub fn rss_kib(&self) -> Res<u64> {
        rss_kib(self.pid)
    }

    /// User plus system CPU seconds used so far.
    pub fn cpu_secs(&self) -> Res<f64> {
        cpu_secs(self.pid)
    }

    /// Open file descriptors.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Lines the server logged (warnings and errors only at RUST_LOG=warn).
    pub fn log_lines(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after 20 s.
    pub async fn stop(mut self) -> Res<()> {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// VmRSS of a process, KiB.
pub fn rss_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

/// utime + stime of a process, seconds (clock ticks of 1/100 s).
pub fn cpu_secs(pid: u32) -> Res<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').ok_or("bad stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11).ok_or("bad stat")?.parse()?;
    let stime: f64 = fields.get(12).ok_or("bad stat")?.parse()?;
    Ok((utime + stime) / 100.0)
}

/// CPU seconds per thread name (`/proc/<pid>/task/*/comm`), summed over the
/// threads of each name.
pub fn thread_cpu(pid: u32) -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        let Some((_, after)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        *out.entry(comm.trim().to_string()).or_insert(0.0) += ticks / 100.0;
    }
    out
}
