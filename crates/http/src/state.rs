//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use livechat_realtime::{Broker, HubHandle};
use livechat_store::Db;

use crate::limiter::RateLimiter;
use crate::settings::HttpSettings;

/// At most this many uploads are inspected (images decoded) at once, so
/// that several large images cannot add up their decoding memory.
pub const DECODE_SLOTS: usize = 2;

/// The rate limiters of the API.
#[derive(Debug)]
pub struct Limiters {
    /// Failed logins per username.
    pub login_user: RateLimiter,
    /// Failed logins per IP address.
    pub login_ip: RateLimiter,
    /// Sends per user.
    pub sends: RateLimiter,
    /// Uploads per user.
    pub uploads: RateLimiter,
    /// Requests per API key.
    pub api_keys: RateLimiter,
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The in-process hub (presence queries, socket registration).
    pub hub: HubHandle,
    /// Where events are published; the in-process hub unless a multi-node
    /// broker is plugged in.
    pub broker: Arc<dyn Broker>,
    /// Validated settings.
    pub settings: Arc<HttpSettings>,
    /// Rate limiters.
    pub limiters: Arc<Limiters>,
    /// Permits to inspect an upload ([`DECODE_SLOTS`] at once).
    pub decode_slots: Arc<tokio::sync::Semaphore>,
    /// The calls of this node.
    pub calls: crate::calls::CallsHandle,
    /// Set when the node was told to stop: `/ready` answers 503.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// When each API key's use was last written (unix ms), so that
    /// `last_used_at` costs a write at most once a minute per key.
    pub key_usage: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

impl AppState {
    /// Builds the state around a database and a running hub, and starts
    /// the calls task (so it must run inside the tokio runtime).
    pub fn new(db: Db, hub: HubHandle, settings: HttpSettings) -> Self {
        let l = &settings.limits;
        let login_window = Duration::from_secs(l.login_window_secs);
        let limiters = Limiters {
            login_user: RateLimiter::new(l.login_failures_per_username, login_window),
            login_ip: RateLimiter::new(l.login_failures_per_ip, login_window),
            sends: RateLimiter::new(l.sends_per_minute, Duration::from_secs(60)),
            uploads: RateLimiter::new(l.uploads_per_minute, Duration::from_secs(60)),
            api_keys: RateLimiter::new(l.api_key_requests_per_minute, Duration::from_secs(60)),
        };
        let (calls, inbox) = crate::calls::channel();
        let state = Self {
            db,
            broker: Arc::new(hub.clone()),
            hub,
            settings: Arc::new(settings),
            limiters: Arc::new(limiters),
            decode_slots: Arc::new(tokio::sync::Semaphore::new(DECODE_SLOTS)),
            calls: calls.clone(),
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            metrics: Arc::default(),
            key_usage: Arc::default(),
        };
        tokio::spawn(crate::calls::run(state.clone(), calls, inbox));
        state
    }
}
