//! The targets: one verdict per target, for the table of
//! docs/benchmarks.md and the end of `bench`.

use serde::{Deserialize, Serialize};

use crate::scenarios::{
    ChatResult, ConnectionsResult, HistoryResult, HttpResult, HttpRow, QueryResult,
};

use super::markdown::fmt_count;
use super::BenchRun;

/// Target figures.
const TARGET_RATE: f64 = 20_000.0;
const TARGET_P99_MS: f64 = 10.0;
const TARGET_LATENCY_RATE: f64 = 5_000.0;
const TARGET_LATENCY_SOCKETS: u64 = 10_000;
const TARGET_SOCKETS: u64 = 18_000;
const TARGET_KIB_PER_SOCKET: f64 = 10.0;
const STRETCH_KIB_PER_SOCKET: f64 = 8.0;
/// Server CPU per message at the latency run's rate, unpinned.
const TARGET_CPU_US_PER_MESSAGE: f64 = 50.0;
/// RSS counts as flat when it grows by no more than this share between
/// the end of the RSS warm-up and the end of the run.
const FLAT_RSS_GROWTH: f64 = 0.02;
/// Seconds of the measured window that still count as warm-up for RSS
/// (SQLite's page caches filling, the allocator reaching its working set):
/// the first half of the 60 s run.
const RSS_WARMUP_SECS: usize = 30;
const TARGET_QUERY_P99_MS: f64 = 5.0;
/// The HTTP speed targets (`wrk -t2 -c32` shape): requests/s of sends,
/// history pages and the conversation list, and the sends' p99.
const TARGET_SEND_RPS: f64 = 15_000.0;
const TARGET_SEND_P99_MS: f64 = 17.0;
const TARGET_HISTORY_RPS: f64 = 18_000.0;
const TARGET_LIST_RPS: f64 = 28_000.0;

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
        cpu_target(&all.chat_latency.run),
        rss_target(&all.chat_latency.run),
        sockets_target(&all.connections.run),
    ];
    rows.extend(query_targets(&all.history.run));
    if let Some(h) = &all.http {
        rows.extend(http_targets(h));
    }
    rows
}

fn http_targets(h: &HttpResult) -> Vec<Verdict> {
    let c = &h.send_check;
    let conditions = |r: &HttpRow| {
        let [before, after] = r.loadavg_before_after;
        let load = |x: Option<f64>| x.map_or("–".to_string(), |v| v.to_string());
        format!(
            "{} keep-alive connections, {} client threads, {} s after {} s warm-up; {}; 1-min load average {} before / {} after",
            h.connections,
            h.client_threads,
            h.duration_secs,
            h.warmup_secs,
            h.conditions,
            load(before),
            load(after)
        )
    };
    let result = |r: &HttpRow| {
        let non_2xx: u64 = r
            .statuses
            .iter()
            .filter(|(k, _)| !k.starts_with('2'))
            .map(|(_, v)| v)
            .sum();
        format!(
            "{} req/s, p50 {} / p99 {} ms; {} non-2xx, {} errors",
            fmt_count(r.requests_per_sec),
            r.latency.ms(|p| p.p50_ms),
            r.latency.ms(|p| p.p99_ms),
            fmt_count(non_2xx as f64),
            fmt_count(r.errors.values().sum::<u64>() as f64)
        )
    };
    let clean = |r: &HttpRow| r.errors.is_empty() && r.statuses.keys().all(|k| k.starts_with('2'));
    let send_p99 = h.send.latency.ms(|p| p.p99_ms);
    vec![
        Verdict {
            target: format!(
                "POST /api/messages/ ≥ {} req/s, p99 ≤ {} ms, every 201 stored and pushed",
                fmt_count(TARGET_SEND_RPS),
                TARGET_SEND_P99_MS
            ),
            conditions: format!("one conversation; {}", conditions(&h.send)),
            result: format!(
                "{}; {} answered 201, {} stored, {} pushed (missing {} / {})",
                result(&h.send),
                fmt_count(c.answered_201 as f64),
                fmt_count(c.stored as f64),
                fmt_count(c.pushed as f64),
                fmt_count(c.missing_stored as f64),
                fmt_count(c.missing_pushed as f64)
            ),
            verdict: met_or_not(
                h.send.requests_per_sec >= TARGET_SEND_RPS
                    && send_p99 <= TARGET_SEND_P99_MS
                    && c.missing_stored == 0
                    && c.missing_pushed == 0
                    && clean(&h.send),
            )
            .into(),
        },
        Verdict {
            target: format!(
                "history page of 50 ≥ {} req/s",
                fmt_count(TARGET_HISTORY_RPS)
            ),
            conditions: format!(
                "a {}-message conversation; {}",
                fmt_count(h.conversation_messages_before as f64),
                conditions(&h.history_page)
            ),
            result: result(&h.history_page),
            verdict: met_or_not(
                h.history_page.requests_per_sec >= TARGET_HISTORY_RPS && clean(&h.history_page),
            )
            .into(),
        },
        Verdict {
            target: format!(
                "GET /api/conversations/ ≥ {} req/s",
                fmt_count(TARGET_LIST_RPS)
            ),
            conditions: format!(
                "a merchant with {} conversations; {}",
                h.merchant_conversations,
                conditions(&h.conversation_list)
            ),
            result: result(&h.conversation_list),
            verdict: met_or_not(
                h.conversation_list.requests_per_sec >= TARGET_LIST_RPS
                    && clean(&h.conversation_list),
            )
            .into(),
        },
    ]
}

fn throughput_target(t: &ChatResult) -> Verdict {
    let (sends, deliv) = (t.sends_per_sec, t.deliveries_per_sec);
    Verdict {
        target: format!(
            "≥ {} messages/s persisted and delivered to the receiver and the admin, server on one core, sustained 20 s, 0 missing",
            fmt_count(TARGET_RATE)
        ),
        conditions: format!(
            "open loop at {}/s for {} s, {} conversations, {} sockets + 1 admin; {}",
            fmt_count(t.rate_target as f64),
            t.duration_secs,
            fmt_count(t.conversations as f64),
            fmt_count(t.sockets_connected as f64),
            if t.pinned {
                "server pinned to core 0, generator to core 1 (`taskset`)"
            } else {
                "**unpinned** (the target asks for the server on one core)"
            }
        ),
        result: format!(
            "{} persisted/s, {} delivered/s (to the receiver; admin {}/s), p99 {} ms; {} µs of server CPU per message; {} missing",
            fmt_count(sends),
            fmt_count(deliv),
            fmt_count(t.admin_deliveries_per_sec),
            t.latency_receiver.ms(|p| p.p99_ms),
            t.server_cpu_us_per_message,
            fmt_count(t.missing_deliveries as f64)
        ),
        verdict: met_or_not(
            t.pinned
                && sends >= TARGET_RATE
                && deliv >= TARGET_RATE
                && t.admin_deliveries_per_sec >= TARGET_RATE
                && t.missing_deliveries == 0
                && t.duration_secs >= 20,
        )
        .into(),
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

fn cpu_target(l: &ChatResult) -> Verdict {
    let below = l.sends_per_sec < TARGET_LATENCY_RATE * 0.98;
    Verdict {
        target: format!(
            "server CPU ≤ {TARGET_CPU_US_PER_MESSAGE} µs per message at {}/s, unpinned",
            fmt_count(TARGET_LATENCY_RATE)
        ),
        conditions: format!(
            "the latency run: {}/s achieved, {} sockets{}",
            fmt_count(l.sends_per_sec),
            fmt_count(l.sockets_connected as f64),
            if below {
                " — **below the target's conditions**"
            } else {
                ""
            }
        ),
        result: format!(
            "{} µs per message ({} server cores)",
            l.server_cpu_us_per_message, l.server_cpu_cores
        ),
        verdict: met_or_not(!below && l.server_cpu_us_per_message <= TARGET_CPU_US_PER_MESSAGE)
            .into(),
    }
}

/// RSS growth after the RSS warm-up: (KiB at its end, KiB at the last
/// sample, seconds between them), if the run was long enough to tell.
pub fn rss_growth(samples: &[u64]) -> Option<(u64, u64, usize)> {
    let base = *samples.get(RSS_WARMUP_SECS)?;
    let end = *samples.last()?;
    let secs = samples.len() - 1 - RSS_WARMUP_SECS;
    (secs > 0).then_some((base, end, secs))
}

fn rss_target(l: &ChatResult) -> Verdict {
    let growth = rss_growth(&l.server_rss_kib_samples);
    let (min, max) = (
        l.server_rss_kib_samples.iter().min().copied().unwrap_or(0),
        l.server_rss_kib_samples.iter().max().copied().unwrap_or(0),
    );
    let short = l.duration_secs < 60;
    Verdict {
        target: format!(
            "RSS flat after warm-up during a 60 s run at {}/s",
            fmt_count(TARGET_LATENCY_RATE)
        ),
        conditions: format!(
            "the latency run: {} s at {}/s achieved, RSS sampled every second; warm-up = the first {RSS_WARMUP_SECS} s of the window; flat = growth ≤ {} % after it{}",
            l.duration_secs,
            fmt_count(l.sends_per_sec),
            FLAT_RSS_GROWTH * 100.0,
            if short {
                " — **below the target's conditions**"
            } else {
                ""
            }
        ),
        result: match growth {
            Some((base, end, secs)) => {
                let grown = end as f64 - base as f64;
                let per_message = grown * 1024.0 / (secs as f64 * l.sends_per_sec).max(1.0);
                format!(
                    "{} KiB after warm-up, {} KiB {} s later ({:+.1} %, {:+.2} bytes per message); {}–{} KiB over the window",
                    fmt_count(base as f64),
                    fmt_count(end as f64),
                    secs,
                    grown * 100.0 / base.max(1) as f64,
                    per_message,
                    fmt_count(min as f64),
                    fmt_count(max as f64)
                )
            }
            None => format!(
                "{} samples: too short to tell",
                l.server_rss_kib_samples.len()
            ),
        },
        verdict: met_or_not(
            !short
                && growth.is_some_and(|(base, end, _)| {
                    end as f64 <= base as f64 * (1.0 + FLAT_RSS_GROWTH)
                }),
        )
        .into(),
    }
}

fn sockets_target(c: &ConnectionsResult) -> Verdict {
    let ok = c.connect.ok;
    let kib = c.rss_per_socket_kib;
    Verdict {
        target: format!(
            "{} concurrent sockets at < {} KiB server RSS each (stretch: {})",
            fmt_count(TARGET_SOCKETS as f64),
            TARGET_KIB_PER_SOCKET,
            STRETCH_KIB_PER_SOCKET
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
        verdict: {
            let met = ok >= TARGET_SOCKETS
                && c.alive_at_end_of_hold >= TARGET_SOCKETS
                && kib < TARGET_KIB_PER_SOCKET;
            if met && kib < STRETCH_KIB_PER_SOCKET {
                "**met** (stretch too)".into()
            } else {
                met_or_not(met).into()
            }
        },
    }
}

fn query_targets(h: &HistoryResult) -> Vec<Verdict> {
    let small = h.messages < 1_000_000;
    let r = &h.results;
    let mut rows: Vec<(&QueryResult, String)> = vec![
        (&r.conversation_list, "conversation list p99 < 5 ms".into()),
        (
            &r.history_deep_page,
            "history page (deep) p99 < 5 ms".into(),
        ),
        (
            &r.history_newest_page,
            "history page (newest) p99 < 5 ms".into(),
        ),
    ];
    rows.extend(
        r.searches()
            .into_iter()
            .map(|(label, r)| (r, format!("search ({label}) p99 < 5 ms"))),
    );
    rows.into_iter()
        .map(|(r, label)| {
            let p99 = r.latency.ms(|p| p.p99_ms);
            Verdict {
                target: label,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_growth_counts_from_the_end_of_the_warm_up() {
        let short: Vec<u64> = (0..=RSS_WARMUP_SECS as u64).collect();
        assert_eq!(rss_growth(&short), None);
        let mut samples = vec![100; RSS_WARMUP_SECS];
        samples.extend([1_000, 1_010, 1_020]);
        assert_eq!(rss_growth(&samples), Some((1_000, 1_020, 2)));
    }

    fn latency_run(samples: Vec<u64>) -> ChatResult {
        let json = include_str!("../../../../docs/benchmarks.json");
        let all: BenchRun = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        ChatResult {
            duration_secs: 60,
            sends_per_sec: 5_000.0,
            server_rss_kib_samples: samples,
            ..all.chat_latency.run
        }
    }

    #[test]
    fn rss_is_flat_within_two_percent_after_the_warm_up() {
        let mut flat = vec![50_000; RSS_WARMUP_SECS];
        flat.extend((0..31).map(|i| 100_000 + i * 60));
        let v = rss_target(&latency_run(flat));
        assert_eq!(v.verdict, "**met**", "{v:?}");
        assert!(
            v.result
                .starts_with("100,000 KiB after warm-up, 101,800 KiB 30 s later (+1.8 %"),
            "{}",
            v.result
        );
        let mut growing = vec![100_000; RSS_WARMUP_SECS + 1];
        growing.extend((1..31).map(|i| 100_000 + i * 100));
        let v = rss_target(&latency_run(growing));
        assert_eq!(v.verdict, "**not met**", "{v:?}");
        assert!(
            v.result.contains("+3.0 %, +20.48 bytes per message"),
            "{}",
            v.result
        );
    }
}
