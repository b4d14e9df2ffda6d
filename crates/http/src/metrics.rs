//! `/metrics`: the node's figures in Prometheus' text format, for
//! loopback (without a proxy in between) and for holders of
//! `metrics.token`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{get, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::state::AppState;

/// Upper bounds (seconds) of the request-latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default, Clone)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

/// What this node counts as it runs.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per (method, route pattern, status class): latencies.
    requests: Mutex<BTreeMap<(String, String, u16), Latency>>,
    /// Messages stored through this node.
    messages_stored: AtomicU64,
}

impl Metrics {
    /// Counts one answered request on `route` (the matched pattern, so ids
    /// do not multiply the series).
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        if let Ok(mut all) = self.requests.lock() {
            let entry = all
                .entry((method.to_string(), route.to_string(), status / 100 * 100))
                .or_default();
            entry.count += 1;
            entry.sum_secs += secs;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    entry.buckets[i] += 1;
                }
            }
        }
    }

    /// Counts a stored message.
    pub fn message_stored(&self) {
        self.messages_stored.fetch_add(1, Ordering::Relaxed);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Who may read the figures: a loopback peer that no proxy forwarded, or a
/// holder of the token.
fn allowed(req: &HttpRequest, token: &str) -> bool {
    let local = req.peer_addr().is_some_and(|a| a.ip().is_loopback())
        && !req.headers().contains_key("x-forwarded-for");
    let bearer = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let holds = !token.is_empty()
        && bearer.is_some_and(|b| crate::auth::same_secret(b.as_bytes(), token.as_bytes()));
    local || holds
}

/// The node's figures in Prometheus' text format.
#[utoipa::path(tag = "system", security(()), responses((status = 200, description = "Prometheus text"), (status = 403, description = "not loopback and no metrics token")))]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !allowed(&req, &state.settings.metrics_token) {
        return Err(ApiError::Forbidden(
            "metrics are served to loopback and to holders of metrics.token".into(),
        ));
    }
    let hub = state.hub.stats().await.map_err(ApiError::internal)?;
    let pool = state.db.pool_stats();
    let mut out = String::with_capacity(4096);
    family(
        &mut out,
        "livechat_sockets",
        "gauge",
        "Open WebSockets on this node.",
    );
    let _ = writeln!(out, "livechat_sockets {}", hub.sockets);
    family(
        &mut out,
        "livechat_users_online",
        "gauge",
        "Users with an open socket on this node.",
    );
    let _ = writeln!(out, "livechat_users_online {}", hub.users_online);
    family(
        &mut out,
        "livechat_messages_stored_total",
        "counter",
        "Messages stored through this node.",
    );
    let _ = writeln!(
        out,
        "livechat_messages_stored_total {}",
        state.metrics.messages_stored.load(Ordering::Relaxed)
    );
    family(
        &mut out,
        "livechat_deliveries_total",
        "counter",
        "Frames queued on sockets.",
    );
    let _ = writeln!(out, "livechat_deliveries_total {}", hub.deliveries);
    family(
        &mut out,
        "livechat_queue_overflows_total",
        "counter",
        "Sockets closed because they stopped reading.",
    );
    let _ = writeln!(out, "livechat_queue_overflows_total {}", hub.overflows);
    family(
        &mut out,
        "livechat_db_pool_reads_total",
        "counter",
        "Reads served by the connection pool.",
    );
    let _ = writeln!(out, "livechat_db_pool_reads_total {}", pool.reads);
    family(
        &mut out,
        "livechat_db_pool_wait_seconds_total",
        "counter",
        "Time reads waited for a pooled connection.",
    );
    let _ = writeln!(
        out,
        "livechat_db_pool_wait_seconds_total {:.6}",
        pool.wait_micros as f64 / 1e6
    );
    family(
        &mut out,
        "livechat_db_pool_connections",
        "gauge",
        "Pooled connections open, and idle.",
    );
    let _ = writeln!(
        out,
        "livechat_db_pool_connections{{state=\"open\"}} {}",
        pool.connections
    );
    let _ = writeln!(
        out,
        "livechat_db_pool_connections{{state=\"idle\"}} {}",
        pool.idle
    );
    family(
        &mut out,
        "livechat_broker_lag_seconds",
        "gauge",
        "Delay of events from other nodes (0: this node is alone).",
    );
    let _ = writeln!(
        out,
        "livechat_broker_lag_seconds {}",
        state.broker.lag_seconds()
    );
    family(
        &mut out,
        "livechat_http_request_duration_seconds",
        "histogram",
        "Answered requests by route.",
    );
    let requests = state
        .metrics
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    for ((method, route, status), l) in &requests {
        let labels = format!(
            "method=\"{method}\",route=\"{}\",status=\"{status}\"",
            route.replace('"', "'")
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "livechat_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                l.buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "livechat_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            l.count
        );
        let _ = writeln!(
            out,
            "livechat_http_request_duration_seconds_sum{{{labels}}} {:.6}",
            l.sum_secs
        );
        let _ = writeln!(
            out,
            "livechat_http_request_duration_seconds_count{{{labels}}} {}",
            l.count
        );
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}

/// Registers this module's route and its OpenAPI entry.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(metrics);
}
