//! Latency histograms (microseconds), their summaries, and the tag the
//! chat scenario puts in every message it sends.

use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::Res;

/// Wall-clock microseconds since the epoch: every process of the run reads
/// the same clock, so a receiver can subtract a sender's timestamp.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A histogram from 1 µs to one hour, 3 significant digits.
pub fn hist() -> Res<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 3_600_000_000, 3)?)
}

/// Records one latency in microseconds.
pub fn record(h: &mut Histogram<u64>, us: u64) {
    h.saturating_record(us.max(1));
}

/// A histogram as `value:count,…` (what workers print to their parent).
pub fn encode(h: &Histogram<u64>) -> String {
    h.iter_recorded()
        .map(|v| format!("{}:{}", v.value_iterated_to(), v.count_at_value()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Adds an encoded histogram to `into`.
pub fn merge_encoded(into: &mut Histogram<u64>, text: &str) -> Res<()> {
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        let (v, c) = pair
            .split_once(':')
            .ok_or_else(|| format!("bad histogram entry `{pair}`"))?;
        let v: u64 = v.parse()?;
        let c: u64 = c.parse()?;
        into.saturating_record_n(v.max(1), c);
    }
    Ok(())
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

/// Count and percentiles of a histogram in milliseconds; only the count
/// when nothing was recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    #[serde(flatten)]
    pub percentiles: Option<Percentiles>,
}

/// Percentiles, maximum and mean, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl LatencySummary {
    /// One figure of the summary; NaN when nothing was recorded.
    pub fn ms(&self, pick: fn(&Percentiles) -> f64) -> f64 {
        self.percentiles.as_ref().map_or(f64::NAN, pick)
    }
}

/// Count and percentiles in milliseconds.
pub fn summary(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary::default();
    }
    LatencySummary {
        count: h.len(),
        percentiles: Some(Percentiles {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: (h.mean() / 10.0).round() / 100.0,
        }),
    }
}

/// What the chat scenario writes as a message's content:
/// `lg <scheduled send time, µs> <sender id> <m|w>` (`m`: measured, `w`: warm-up).
pub fn tag(sched_us: u64, sender: &str, measured: bool) -> String {
    format!(
        "lg {sched_us} {sender} {}",
        if measured { "m" } else { "w" }
    )
}

/// A tag read back from a pushed frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Tag<'a> {
    pub sched_us: u64,
    pub sender: &'a str,
    pub measured: bool,
}

/// Finds the tag in a `message` frame without parsing the whole JSON.
pub fn parse_tag(frame: &str) -> Option<Tag<'_>> {
    if !frame.starts_with(r#"{"type":"message""#) {
        return None;
    }
    const KEY: &str = r#""content":"lg "#;
    let start = frame.find(KEY)? + KEY.len();
    let rest = &frame[start..];
    let rest = &rest[..rest.find('"')?];
    let mut parts = rest.split(' ');
    let sched_us = parts.next()?.parse().ok()?;
    let sender = parts.next()?;
    let measured = parts.next()? == "m";
    Some(Tag {
        sched_us,
        sender,
        measured,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_through_a_frame() {
        let content = tag(1234, "b7", true);
        let frame = format!(
            r#"{{"type":"message","message":{{"id":1,"sender":{{"id":"b7"}},"content":"{content}","x":1}}}}"#
        );
        assert_eq!(
            parse_tag(&frame),
            Some(Tag {
                sched_us: 1234,
                sender: "b7",
                measured: true
            })
        );
        assert_eq!(parse_tag(r#"{"type":"conversation"}"#), None);
    }

    #[test]
    fn histograms_survive_encoding() {
        let mut a = hist().unwrap();
        for v in [1, 10, 100, 1000, 10_000, 250_000] {
            record(&mut a, v);
        }
        let mut b = hist().unwrap();
        merge_encoded(&mut b, &encode(&a)).unwrap();
        assert_eq!(a.len(), b.len());
        assert_eq!(a.value_at_quantile(0.99), b.value_at_quantile(0.99));
    }

    #[test]
    fn summaries_serialize_flat_and_empty_ones_as_a_count() {
        let mut h = hist().unwrap();
        record(&mut h, 1_500);
        let text = serde_json::to_string(&summary(&h)).unwrap();
        assert!(text.contains(r#""count":1,"p50_ms":1.5"#), "{text}");
        let back: LatencySummary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, summary(&h));
        let empty = summary(&hist().unwrap());
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"count":0}"#);
        let back: LatencySummary = serde_json::from_str(r#"{"count":0}"#).unwrap();
        assert_eq!(back, empty);
        assert!(empty.ms(|p| p.p99_ms).is_nan());
    }
}
