//! The targets: one verdict per target, for the table of
//! docs/benchmarks.md and the end of `bench`.

use serde::{Deserialize, Serialize};

use crate::scenarios::{ChatResult, ConnectionsResult, HistoryResult};

use super::markdown::fmt_count;
use super::BenchRun;

/// Target figures.
const TARGET_RATE: f64 = 20_000.0;
const TARGET_P99_MS: f64 = 10.0;
const TARGET_LATENCY_RATE: f64 = 5_000.0;
const TARGET_LATENCY_SOCKETS: u64 = 10_000;
const TARGET_SOCKETS: u64 = 18_000;
const TARGET_KIB_PER_SOCKET: f64 = 16.0;
const TARGET_QUERY_P99_MS: f64 = 5.0;

/// One target's line, as printed at the end of `bench`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub target: String,
    pub conditions: String,
    pub result: String,
    pub verdict: String,
}

fn met_or_not(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

/// One per target, in the order of the table.
pub fn verdicts(all: &BenchRun) -> Vec<Verdict> {
    let mut rows = vec![
        throughput_target(&all.chat_throughput.run),
        latency_target(&all.chat_latency.run, &all.chat_sustainable.run),
        sockets_target(&all.connections.run),
    ];
    rows.extend(query_targets(&all.history.run));
    rows
}

fn throughput_target(t: &ChatResult) -> Verdict {
    let (sends, deliv) = (t.sends_per_sec, t.deliveries_per_sec);
    Verdict {
        target: format!(
            "≥ {} messages/s persisted and delivered",
            fmt_count(TARGET_RATE)
        ),
        conditions: format!(
            "open loop at {}/s for {} s, {} conversations, {} sockets + 1 admin",
            fmt_count(t.rate_target as f64),
            t.duration_secs,
            fmt_count(t.conversations as f64),
            fmt_count(t.sockets_connected as f64)
        ),
        result: format!(
            "{} persisted/s, {} delivered/s (to the receiver; admin {}/s), p99 {} ms",
            fmt_count(sends),
            fmt_count(deliv),
            fmt_count(t.admin_deliveries_per_sec),
            t.latency_receiver.ms(|p| p.p99_ms)
        ),
        verdict: met_or_not(sends >= TARGET_RATE && deliv >= TARGET_RATE).into(),
    }
}

/// The latency run, with the sustainable-rate run on the same sockets.
fn latency_target(l: &ChatResult, su: &ChatResult) -> Verdict {
    let achieved = l.sends_per_sec;
    let sockets = l.sockets_connected;
    let p99 = l.latency_receiver.ms(|p| p.p99_ms);
    let below = achieved < TARGET_LATENCY_RATE * 0.98 || sockets < TARGET_LATENCY_SOCKETS;
    Verdict {
        target: format!(
            "p99 send-to-receive < {} ms at {} msg/s with {} sockets",
            TARGET_P99_MS,
            fmt_count(TARGET_LATENCY_RATE),
            fmt_count(TARGET_LATENCY_SOCKETS as f64)
        ),
        conditions: format!(
            "open loop at {}/s for {} s, {} sockets connected, {} conversations{}",
            fmt_count(l.rate_target as f64),
            l.duration_secs,
            fmt_count(sockets as f64),
            fmt_count(l.conversations as f64),
            if below {
                format!(
                    " — **below the target's conditions**: {}/s achieved",
                    fmt_count(achieved)
                )
            } else {
                String::new()
            }
        ),
        result: format!(
            "receiver p50 {} / p99 {} / max {} ms; admin p99 {} ms; {}/s achieved. Same sockets at {}/s: receiver p99 {} ms, admin p99 {} ms",
            l.latency_receiver.ms(|p| p.p50_ms),
            p99,
            l.latency_receiver.ms(|p| p.max_ms),
            l.latency_admin.ms(|p| p.p99_ms),
            fmt_count(achieved),
            fmt_count(su.sends_per_sec),
            su.latency_receiver.ms(|p| p.p99_ms),
            su.latency_admin.ms(|p| p.p99_ms)
        ),
        verdict: if below {
            format!("{} (run below conditions)", met_or_not(false))
        } else {
            met_or_not(p99 < TARGET_P99_MS).into()
        },
    }
}

fn sockets_target(c: &ConnectionsResult) -> Verdict {
    let ok = c.connect.ok;
    let kib = c.rss_per_socket_kib;
    Verdict {
        target: format!(
            "{} concurrent sockets at < {} KiB server RSS each",
            fmt_count(TARGET_SOCKETS as f64),
            TARGET_KIB_PER_SOCKET
        ),
        conditions: format!(
            "{} sockets over {} worker processes, held {} s{}",
            fmt_count(c.target_sockets as f64),
            c.connect.workers,
            c.hold_secs,
            if (c.target_sockets as u64) < TARGET_SOCKETS {
                " — **below the target's conditions**"
            } else {
                ""
            }
        ),
        result: format!(
            "{} connected ({} failed, {} alive after the hold), {} KiB/socket, {}/s connect rate",
            fmt_count(ok as f64),
            fmt_count(c.connect.failed as f64),
            fmt_count(c.alive_at_end_of_hold as f64),
            kib,
            fmt_count(c.connect.connects_per_sec)
        ),
        verdict: met_or_not(
            ok >= TARGET_SOCKETS
                && c.alive_at_end_of_hold >= TARGET_SOCKETS
                && kib < TARGET_KIB_PER_SOCKET,
        )
        .into(),
    }
}

fn query_targets(h: &HistoryResult) -> Vec<Verdict> {
    let small = h.messages < 1_000_000;
    let r = &h.results;
    [
        (&r.conversation_list, "conversation list p99 < 5 ms"),
        (&r.history_deep_page, "history page (deep) p99 < 5 ms"),
        (&r.history_newest_page, "history page (newest) p99 < 5 ms"),
        (&r.search_3plus_chars, "search (≥ 3 chars) p99 < 5 ms"),
        (&r.search_2_chars, "search (2 chars) p99 < 5 ms"),
    ]
    .into_iter()
    .map(|(r, label)| {
        let p99 = r.latency.ms(|p| p.p99_ms);
        Verdict {
            target: label.into(),
            conditions: format!(
                "{} messages, {} conversations{}",
                fmt_count(h.messages as f64),
                fmt_count(h.conversations as f64),
                if small {
                    " — **below the target's conditions**"
                } else {
                    ""
                }
            ),
            result: format!(
                "p50 {} / p99 {} ms ({} requests)",
                r.latency.ms(|p| p.p50_ms),
                p99,
                r.latency.count
            ),
            verdict: met_or_not(!small && p99 < TARGET_QUERY_P99_MS).into(),
        }
    })
    .collect()
}
