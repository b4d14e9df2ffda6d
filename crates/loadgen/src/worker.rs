//! A worker process: holds a slice of the users' sockets (one process may
//! hold at most 20,000 open files), all bound to one 127.0.0.x source
//! address, and measures send-to-receive latency of the tagged messages.
//!
//! It talks to its parent with JSON lines ([`Event`]): on standard output
//! it prints `{"event":"connected",…}` once every socket is open (or
//! failed), then `{"event":"report",…}` for each `report` line read on
//! standard input; `mark <µs>` sets the start of the measured window;
//! `quit` or the end of standard input ends it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use crate::args::Args;
use crate::client::{ws_connect, Ws};
use crate::stats::{encode, hist, now_us, parse_tag, record, summary, LatencySummary};
use crate::Res;

/// One line a worker prints to its parent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Connected(Connected),
    Report(Report),
}

/// Every socket of the slice is open or failed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Connected {
    pub ok: u64,
    pub failed: u64,
    /// From the first connect to the last answer.
    pub secs: f64,
    /// Time to the first frame, per socket.
    pub connect: LatencySummary,
    /// Failed connects by reason.
    pub errors: BTreeMap<String, u64>,
}

/// What the sockets saw so far (the counters of [`Seen`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub deliveries: u64,
    pub frames: u64,
    pub alive: u64,
    pub closed: u64,
    pub after_mark: u64,
    pub close_codes: BTreeMap<String, u64>,
    pub last_after_mark_us: u64,
    /// The latency histogram, encoded by [`encode`].
    pub latency: String,
}

/// What a worker's sockets saw.
pub struct Seen {
    /// Send-to-receive latency of measured messages, at the receiver.
    pub latency: Mutex<Histogram<u64>>,
    /// Measured messages received by the participant who did not send them.
    pub deliveries: AtomicU64,
    /// Every text frame.
    pub frames: AtomicU64,
    /// Sockets open now.
    pub alive: AtomicU64,
    /// Sockets the server closed (or that broke) after opening.
    pub closed: AtomicU64,
    /// Start of the measured window (µs since the epoch; none yet: MAX).
    pub mark_us: AtomicU64,
    /// Tagged messages (warm-up ones too) received from the other
    /// participant at or after the mark: the sustained delivery rate.
    pub after_mark: AtomicU64,
    /// When the last of those arrived.
    pub last_after_mark_us: AtomicU64,
    /// How sockets ended after opening: close code and reason, or the error.
    pub close_codes: Mutex<BTreeMap<String, u64>>,
}

impl Seen {
    pub fn new() -> Res<Arc<Self>> {
        Ok(Arc::new(Self {
            latency: Mutex::new(hist()?),
            deliveries: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            alive: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            mark_us: AtomicU64::new(u64::MAX),
            after_mark: AtomicU64::new(0),
            last_after_mark_us: AtomicU64::new(0),
            close_codes: Mutex::new(BTreeMap::new()),
        }))
    }

    /// Notes why a socket ended.
    pub fn closed_because(&self, why: String) {
        if let Ok(mut c) = self.close_codes.lock() {
            *c.entry(why).or_default() += 1;
        }
    }

    /// Why sockets ended so far, by reason.
    pub fn close_codes(&self) -> BTreeMap<String, u64> {
        self.close_codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The counters, as a worker reports them.
    fn report(&self) -> Report {
        Report {
            deliveries: self.deliveries.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            alive: self.alive.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
            after_mark: self.after_mark.load(Ordering::Relaxed),
            close_codes: self.close_codes(),
            last_after_mark_us: self.last_after_mark_us.load(Ordering::Relaxed),
            latency: self.latency.lock().map(|h| encode(&h)).unwrap_or_default(),
        }
    }

    /// Counts one text frame; records its latency when it is a measured
    /// message `me` did not send.
    pub fn on_text(&self, me: &str, text: &str, any_sender: bool) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        if let Some(tag) = parse_tag(text) {
            if !(any_sender || tag.sender != me) {
                return;
            }
            let now = now_us();
            if now >= self.mark_us.load(Ordering::Relaxed) {
                self.after_mark.fetch_add(1, Ordering::Relaxed);
                self.last_after_mark_us.fetch_max(now, Ordering::Relaxed);
            }
            if tag.measured {
                let us = now.saturating_sub(tag.sched_us);
                self.deliveries.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut h) = self.latency.lock() {
                    record(&mut h, us);
                }
            }
        }
    }
}

/// Reads a socket until it closes. With `quickack` the client acknowledges
/// every segment at once (TCP_QUICKACK after each frame): an experiment that
/// shows whether the server's writes wait for delayed ACKs (Nagle).
pub async fn read_loop(mut ws: Ws, me: String, seen: Arc<Seen>, any_sender: bool, quickack: bool) {
    while let Some(msg) = ws.next().await {
        if quickack {
            let _ = socket2::SockRef::from(ws.get_ref()).set_tcp_quickack(true);
        }
        match msg {
            Ok(Message::Text(text)) => seen.on_text(&me, &text, any_sender),
            Ok(Message::Close(frame)) => {
                let why = frame
                    .map(|f| format!("{} {}", u16::from(f.code), f.reason))
                    .unwrap_or_else(|| "close without code".into());
                seen.closed_because(why);
                break;
            }
            Err(e) => {
                seen.closed_because(short(&e.to_string()));
                break;
            }
            Ok(_) => {}
        }
    }
    seen.alive.fetch_sub(1, Ordering::Relaxed);
    seen.closed.fetch_add(1, Ordering::Relaxed);
}

/// Opens one socket and waits for its first frame (`online_users`, sent once
/// the server has checked the token): that is a connected user.
pub async fn connect_one(
    src: Option<Ipv4Addr>,
    port: u16,
    user: String,
    token: String,
    seen: Arc<Seen>,
    any_sender: bool,
    quickack: bool,
) -> Result<f64, String> {
    let started = Instant::now();
    let limit = Duration::from_secs(30);
    let mut ws = match tokio::time::timeout(limit, ws_connect(src, port, &user, &token)).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return Err(short(&e.to_string())),
        Err(_) => return Err("no upgrade within 30 s".into()),
    };
    match tokio::time::timeout(limit, ws.next()).await {
        Ok(Some(Ok(Message::Close(frame)))) => {
            return Err(format!(
                "closed at once: {}",
                frame.map(|f| u16::from(f.code)).unwrap_or(0)
            ))
        }
        Ok(Some(Ok(Message::Text(text)))) => seen.on_text(&user, &text, any_sender),
        Ok(Some(Ok(_))) => {}
        Ok(Some(Err(e))) => return Err(short(&e.to_string())),
        Ok(None) => return Err("closed before the first frame".into()),
        Err(_) => return Err("no first frame within 30 s".into()),
    }
    let secs = started.elapsed().as_secs_f64();
    seen.alive.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(read_loop(ws, user, seen, any_sender, quickack));
    Ok(secs)
}

fn short(text: &str) -> String {
    text.chars().take(80).collect()
}

/// Reads `user<TAB>token` lines.
pub fn read_tokens(path: &str) -> Res<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once('\t')
                .map(|(u, t)| (u.to_string(), t.to_string()))
                .ok_or_else(|| format!("bad token line `{l}`").into())
        })
        .collect()
}

/// Prints one event line to the parent.
fn emit(event: &Event) -> Res<()> {
    println!("{}", serde_json::to_string(event)?);
    Ok(())
}

/// The worker's main: `--ports P[,P…] --tokens FILE --from A --to B --src IP --conc K`.
/// With several ports (nodes of a cluster), the user on line `i` of the
/// token file connects to port `i % ports`.
pub async fn run(args: Args) -> Res<()> {
    let ports: Vec<u16> = args
        .required("ports")?
        .split(',')
        .map(|p| p.parse::<u16>())
        .collect::<Result<_, _>>()
        .map_err(|_| "--ports: cannot read a port")?;
    let tokens = read_tokens(&args.required("tokens")?)?;
    let from: usize = args.get("from", 0)?;
    let to: usize = args.get("to", tokens.len())?;
    let src: Ipv4Addr = args.get("src", Ipv4Addr::LOCALHOST)?;
    let conc: usize = args.get("conc", 200)?;
    let quickack = args.flag("quickack");
    let slice: Vec<(String, String)> = tokens
        .into_iter()
        .skip(from)
        .take(to.saturating_sub(from))
        .collect();
    let seen = Seen::new()?;
    let connected = connect_all(slice, from, src, &ports, conc, &seen, quickack).await?;
    emit(&Event::Connected(connected))?;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = stdin.next_line().await {
        if let Some(mark) = line.trim().strip_prefix("mark ") {
            seen.mark_us.store(mark.parse()?, Ordering::Relaxed);
            continue;
        }
        match line.trim() {
            "report" => emit(&Event::Report(seen.report()))?,
            "quit" => break,
            _ => {}
        }
    }
    Ok(())
}

/// The port the user on line `line` of the token file connects to.
pub fn port_of(ports: &[u16], line: usize) -> u16 {
    ports[line % ports.len().max(1)]
}

/// Opens the slice's sockets (`from` is its first line), `conc` at a time.
async fn connect_all(
    slice: Vec<(String, String)>,
    from: usize,
    src: Ipv4Addr,
    ports: &[u16],
    conc: usize,
    seen: &Arc<Seen>,
    quickack: bool,
) -> Res<Connected> {
    let started = Instant::now();
    if ports.is_empty() {
        return Err("no port to connect to".into());
    }
    let results: Vec<Result<f64, String>> =
        stream::iter(slice.into_iter().enumerate().map(|(i, (user, token))| {
            let port = port_of(ports, from + i);
            connect_one(Some(src), port, user, token, seen.clone(), false, quickack)
        }))
        .buffer_unordered(conc.max(1))
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    let mut times = hist()?;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for r in &results {
        match r {
            Ok(s) => record(&mut times, (s * 1e6) as u64),
            Err(e) => *errors.entry(e.clone()).or_default() += 1,
        }
    }
    Ok(Connected {
        ok: times.len(),
        failed: results.len() as u64 - times.len(),
        secs,
        connect: summary(&times),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::port_of;

    #[test]
    fn lines_of_the_token_file_take_the_nodes_in_turn() {
        let ports = [7001, 7002, 7003];
        let got: Vec<u16> = (0..5).map(|i| port_of(&ports, i)).collect();
        assert_eq!(got, [7001, 7002, 7003, 7001, 7002]);
        assert_eq!(port_of(&[9000], 12), 9000);
    }
}
