//! `http`: the shape of `wrk -t2 -c32 -d10s`: `--connections` keep-alive
//! HTTP/1.1 connections on the generator's two runtime threads, each
//! sending its next request as soon as the last answer is read (closed
//! loop), for `--duration` seconds after a `--warmup`; three rows: sends
//! into one conversation, a history page of 50, the conversation list.
//!
//! The client is a minimal HTTP/1.1 one over a raw `TcpStream` (a fixed
//! request, `Content-Length` answers), so that the generator costs as little
//! of the shared cores as it can. No `Accept-Encoding` is sent (as wrk).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::args::Args;
use crate::client::{http_client, session_tokens};
use crate::seed;
use crate::server::ServerProc;
use crate::stats::{hist, now_us, record, summary, tag, LatencySummary};
use crate::worker::{connect_one, Seen};
use crate::Res;

use super::profile::{CpuMarks, CpuUse};
use super::{round, Ctx, ADMIN};

/// Options of `http`.
#[derive(Debug, Clone)]
pub struct HttpOpts {
    pub connections: usize,
    pub duration: u64,
    pub warmup: u64,
    /// Messages already in the conversation the history rows read (and the
    /// send row writes to).
    pub history_messages: usize,
}

impl HttpOpts {
    pub fn from_args(a: &Args) -> Res<Self> {
        Ok(Self {
            connections: a.get("connections", 32)?,
            duration: a.get("duration", 10)?,
            warmup: a.get("warmup", 1)?,
            history_messages: a.get("history-messages", 10_000)?,
        })
    }

    pub fn command(&self) -> String {
        format!(
            "livechat-loadgen http --connections {} --duration {} --warmup {} --history-messages {}",
            self.connections, self.duration, self.warmup, self.history_messages
        )
    }
}

/// One row: one request, repeated on every connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpRow {
    pub request: String,
    /// Answers completed inside the measured window.
    pub requests: u64,
    pub window_secs: f64,
    pub requests_per_sec: f64,
    /// Client-side time from writing the request to reading the whole answer.
    pub latency: LatencySummary,
    /// Every answer (warm-up too) by HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// Broken connections and unreadable answers, by reason.
    pub errors: BTreeMap<String, u64>,
    pub server_cpu_cores: f64,
    pub generator_cpu_cores: f64,
    /// 1-minute load average before and after the row.
    pub loadavg_before_after: [Option<f64>; 2],
}

/// What became of the send row's 201s.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendCheck {
    /// Every 201, warm-up included.
    pub answered_201: u64,
    /// Messages the conversation gained (its `count` before and after).
    pub stored: u64,
    /// Messages pushed to the other participant's socket.
    pub pushed: u64,
    pub missing_stored: u64,
    pub missing_pushed: u64,
    /// Send-to-push latency at that socket (from the request's start).
    pub push_latency: LatencySummary,
}

/// The result of `http`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpResult {
    /// Always `http`.
    pub scenario: String,
    pub command: String,
    pub connections: usize,
    pub client_threads: usize,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    /// How the runs were made: compression, pinning.
    pub conditions: String,
    pub conversation_messages_before: u64,
    pub merchant_conversations: usize,
    pub send: HttpRow,
    pub send_check: SendCheck,
    pub history_page: HttpRow,
    pub conversation_list: HttpRow,
    pub server_log_lines: usize,
}

/// What the generator's runtime has (see `main`).
const CLIENT_THREADS: usize = 2;

/// The conditions every row runs under.
const CONDITIONS: &str = "no CPU pinning (server, its 2 workers and the generator share both cores); no Accept-Encoding sent, so answers are not compressed; loopback; keep-alive HTTP/1.1";

/// Conversations of merchant m0 (the list row reads its first page).
const MERCHANT_CONVERSATIONS: usize = 100;

/// A request's bytes: `make(n)` answers the `n`-th one.
type MakeRequest = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// What one connection measured.
struct ConnStats {
    latency: Histogram<u64>,
    measured: u64,
    statuses: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
}

/// Reads one answer: its status; the body is read and dropped.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Res<u16> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "answer head not UTF-8")?;
    let (status, length) = parse_head(head)?;
    let mut have = buf.len() - head_end;
    while have < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed in a body".into());
        }
        have += n;
    }
    Ok(status)
}

/// The status and `Content-Length` of an answer's head.
fn parse_head(head: &str) -> Res<(u16, usize)> {
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or("answer without Content-Length")?;
    Ok((status, length))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One keep-alive connection in a closed loop until `end`; answers done
/// from `measure_from` on are timed.
async fn connection(
    port: u16,
    make: MakeRequest,
    first: u64,
    measure_from: Instant,
    end: Instant,
) -> Res<ConnStats> {
    let mut stats = ConnStats {
        latency: hist()?,
        measured: 0,
        statuses: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut n = first;
    while Instant::now() < end {
        let s = match stream.as_mut() {
            Some(s) => s,
            None => {
                let s = TcpStream::connect(("127.0.0.1", port)).await?;
                s.set_nodelay(true)?;
                stream.insert(s)
            }
        };
        let request = make(n);
        n += 1;
        let t = Instant::now();
        let outcome = async {
            s.write_all(&request).await?;
            read_answer(s, &mut buf).await
        }
        .await;
        let done = Instant::now();
        match outcome {
            Ok(status) => {
                *stats.statuses.entry(status.to_string()).or_default() += 1;
                if done >= measure_from && done < end {
                    stats.measured += 1;
                    record(&mut stats.latency, (done - t).as_micros() as u64);
                }
            }
            Err(e) => {
                *stats.errors.entry(e.to_string()).or_default() += 1;
                stream = None;
            }
        }
    }
    Ok(stats)
}

/// Runs one row on `connections` connections.
async fn row(server: &ServerProc, o: &HttpOpts, request: &str, make: MakeRequest) -> Res<HttpRow> {
    let before = crate::report::loadavg();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(o.warmup);
    let end = measure_from + Duration::from_secs(o.duration);
    let marks = tokio::spawn({
        let pid = server.pid;
        async move {
            tokio::time::sleep_until(measure_from.into()).await;
            CpuMarks::take(pid, &[])
        }
    });
    let tasks: Vec<_> = (0..o.connections)
        .map(|c| {
            let make = make.clone();
            // Far apart, so that every request of the row is distinct.
            let first = c as u64 * 1_000_000_000;
            tokio::spawn(connection(server.port, make, first, measure_from, end))
        })
        .collect();
    let mut latency = hist()?;
    let mut measured = 0;
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for t in tasks {
        let s = t.await??;
        latency.add(&s.latency)?;
        measured += s.measured;
        for (k, v) in s.statuses {
            *statuses.entry(k).or_default() += v;
        }
        for (k, v) in s.errors {
            *errors.entry(k).or_default() += v;
        }
    }
    let end_marks = CpuMarks::take(server.pid, &[])?;
    let cpu = CpuUse::between(&marks.await??, &end_marks);
    let window = (Instant::now().min(end) - measure_from)
        .as_secs_f64()
        .max(1e-9);
    Ok(HttpRow {
        request: request.into(),
        requests: measured,
        window_secs: round(window, 2),
        requests_per_sec: round(measured as f64 / window, 0),
        latency: summary(&latency),
        statuses,
        errors,
        server_cpu_cores: cpu.server_cores,
        generator_cpu_cores: cpu.generator_cores,
        loadavg_before_after: [before, crate::report::loadavg()],
    })
}

fn get(path: &str, token: &str) -> MakeRequest {
    let bytes =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n")
            .into_bytes();
    Arc::new(move |_| bytes.clone())
}

fn send(token: &str) -> MakeRequest {
    let token = token.to_string();
    Arc::new(move |_| {
        let body = format!(
            r#"{{"conversation_id":1,"message_type":"text","content":"{}"}}"#,
            tag(now_us(), "b0", true)
        );
        format!(
            "POST /api/messages/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
}

/// Conversation 1's message count, as its history page says.
async fn message_count(http: &reqwest::Client, base: &str, token: &str) -> Res<u64> {
    let body: Value = http
        .get(format!("{base}/api/conversations/1/messages?page_size=1"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    body["count"]
        .as_u64()
        .ok_or_else(|| format!("no count in {body}").into())
}

/// The three rows on a fresh SQLite database: conversation 1 (b0 with m0)
/// holds `history_messages` messages, m0 has 100 conversations.
pub async fn http(ctx: &Ctx, o: &HttpOpts) -> Res<HttpResult> {
    let dir = ctx.dir("http")?;
    let db_path = dir.join("bench.db");
    let shape = seed::HistoryShape {
        messages: o.history_messages * 2,
        conversations: MERCHANT_CONVERSATIONS * 2,
        long: o.history_messages,
        merchant_conversations: MERCHANT_CONVERSATIONS,
        other_merchants: 9,
    };
    let built = seed::history_db(&db_path, shape)?;
    livechat_server::admin_tools::create_admin(&built.db, ADMIN.0, ADMIN.1, ADMIN.2, 4)
        .map_err(|e| e.to_string())?;
    seed::checkpoint(&built.db)?;
    drop(built.db);
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
    let history_page = row(
        &server,
        o,
        "GET /api/conversations/1/messages?page_size=50 as b0",
        get("/api/conversations/1/messages?page_size=50", &buyer),
    )
    .await?;
    let conversation_list = row(
        &server,
        o,
        "GET /api/conversations/ as m0 (100 conversations; first page)",
        get("/api/conversations/", &merchant),
    )
    .await?;
    // The receiver: m0's socket counts b0's messages pushed to it.
    let seen = Seen::new()?;
    connect_one(
        None,
        server.port,
        "m0".into(),
        merchant.clone(),
        seen.clone(),
        false,
        false,
    )
    .await
    .map_err(|e| format!("m0's socket: {e}"))?;
    let before = message_count(&http, &base, &buyer).await?;
    let send_row = row(
        &server,
        o,
        "POST /api/messages/ as b0 into conversation 1 (text)",
        send(&buyer),
    )
    .await?;
    let answered_201 = send_row.statuses.get("201").copied().unwrap_or(0);
    // Every push, or 20 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.deliveries.load(Ordering::Relaxed) < answered_201 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = message_count(&http, &base, &buyer).await?;
    let pushed = seen.deliveries.load(Ordering::Relaxed);
    let stored = after.saturating_sub(before);
    let push_latency = summary(&*seen.latency.lock().map_err(|_| "poisoned")?);
    let log_lines = server.log_lines();
    server.stop().await?;
    Ok(HttpResult {
        scenario: "http".into(),
        command: o.command(),
        connections: o.connections,
        client_threads: CLIENT_THREADS,
        duration_secs: o.duration,
        warmup_secs: o.warmup,
        conditions: CONDITIONS.into(),
        conversation_messages_before: before,
        merchant_conversations: MERCHANT_CONVERSATIONS,
        send_check: SendCheck {
            answered_201,
            stored,
            pushed,
            missing_stored: answered_201.saturating_sub(stored),
            missing_pushed: answered_201.saturating_sub(pushed),
            push_latency,
        },
        send: send_row,
        history_page,
        conversation_list,
        server_log_lines: log_lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_heads_give_status_and_length() {
        let head =
            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 42\r\n\r\n";
        assert_eq!(parse_head(head).unwrap(), (201, 42));
        let chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(parse_head(chunked).is_err());
        assert!(parse_head("garbage\r\n\r\n").is_err());
        assert_eq!(find(b"ab\r\n\r\ncd", b"\r\n\r\n"), Some(2));
    }

    #[test]
    fn send_requests_carry_a_length_that_matches_their_body() {
        let make = send("tok");
        let text = String::from_utf8(make(0)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let parsed: Value = serde_json::from_str(body).unwrap();
        assert_eq!(parsed["conversation_id"], 1);
        assert!(parsed["content"].as_str().unwrap().starts_with("lg "));
    }
}
