//! Shared application state handed to every handler.

use std::sync::Arc;
use std::time::Duration;

use livechat_realtime::{Broker, Cluster, HubHandle};
use livechat_store::Db;

use crate::limiter::RateLimiter;
use crate::settings::HttpSettings;

/// At most this many uploads are inspected (images decoded) at once, so
/// that several large images cannot add up their decoding memory.
pub const DECODE_SLOTS: usize = 2;

/// The rate limiters of the API.
#[derive(Debug)]
pub struct Limiters {
    /// Failed logins per username, from anywhere: past the limit only
    /// addresses without recent failures for that name may still try.
    pub login_user: RateLimiter,
    /// Failed logins per (username, IP address).
    pub login_user_ip: RateLimiter,
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
    /// Where events are published: the hub of a node alone, or the cluster.
    pub broker: Arc<dyn Broker>,
    /// The cluster this node belongs to, if any.
    pub cluster: Option<Cluster>,
    /// The users tokens name, cached for a few seconds.
    pub users: Arc<crate::user_cache::UserCache>,
    /// Validated settings.
    pub settings: Arc<HttpSettings>,
    /// Rate limiters.
    pub limiters: Arc<Limiters>,
    /// Permits to inspect an upload ([`DECODE_SLOTS`] at once).
    pub decode_slots: Arc<tokio::sync::Semaphore>,
    /// The calls of this node.
    pub calls: crate::calls::CallsHandle,
    /// Sockets per user and address, and the descriptor reserve.
    pub sockets: Arc<crate::sockets::SocketLimits>,
    /// Set when the node was told to stop: `/ready` answers 503.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// When each API key's use was last written (unix ms), so that
    /// `last_used_at` costs a write at most once a minute per key.
    pub key_usage: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// How a node reaches sockets: its own hub, and the cluster it is part of
/// (`None`: the node is alone).
#[derive(Clone)]
pub struct Realtime {
    /// This node's hub.
    pub hub: HubHandle,
    /// The cluster, when `REDIS_URL` joins this node to others.
    pub cluster: Option<Cluster>,
}

impl AppState {
    /// Builds the state around a database and a running hub (and cluster),
    /// and starts the calls task (so it must run inside the tokio runtime).
    pub fn new(db: Db, realtime: Realtime, settings: HttpSettings) -> Self {
        let Realtime { hub, cluster } = realtime;
        let l = &settings.limits;
        let counters = cluster.as_ref().map(Cluster::counters);
        let login_window = Duration::from_secs(l.login_window_secs);
        let minute = Duration::from_secs(60);
        let limiters = Limiters {
            login_user: RateLimiter::new("login_user", l.login_failures_per_username, login_window)
                .shared(counters.clone()),
            login_user_ip: RateLimiter::new(
                "login_user_ip",
                l.login_failures_per_username,
                login_window,
            )
            .shared(counters.clone()),
            login_ip: RateLimiter::new("login_ip", l.login_failures_per_ip, login_window)
                .shared(counters.clone()),
            sends: RateLimiter::new("sends", l.sends_per_minute, minute).shared(counters.clone()),
            uploads: RateLimiter::new("uploads", l.uploads_per_minute, minute)
                .shared(counters.clone()),
            api_keys: RateLimiter::new("api_keys", l.api_key_requests_per_minute, minute)
                .shared(counters),
        };
        let users = Arc::new(crate::user_cache::UserCache::new(Duration::from_secs(
            settings.user_cache_secs,
        )));
        let broker: Arc<dyn Broker> = match &cluster {
            Some(cluster) => {
                let cache = users.clone();
                cluster.on_user_changed(Arc::new(move |user| match user {
                    Some(id) => cache.invalidate(id),
                    None => cache.flush(),
                }));
                Arc::new(cluster.clone())
            }
            None => Arc::new(hub.clone()),
        };
        let sockets = Arc::new(crate::sockets::SocketLimits::new(
            settings.limits.sockets_per_user,
            settings.limits.sockets_per_ip,
        ));
        let (calls, inbox) = crate::calls::channel();
        let state = Self {
            db,
            broker,
            cluster,
            users,
            hub,
            settings: Arc::new(settings),
            limiters: Arc::new(limiters),
            decode_slots: Arc::new(tokio::sync::Semaphore::new(DECODE_SLOTS)),
            calls: calls.clone(),
            sockets,
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            metrics: Arc::default(),
            key_usage: Arc::default(),
        };
        tokio::spawn(crate::calls::run(state.clone(), calls, inbox));
        state
    }

    /// An admin changed user `id`: cached copies go, here and on every node.
    pub fn user_changed(&self, id: &str) {
        self.users.invalidate(id);
        self.broker.user_changed(id);
    }
}
