//! The webhook delivery worker: claims due rows of the outbox for this
//! node, renders an event's body once (then every try sends the same
//! bytes), signs and POSTs it, logs the try and schedules the next one.
//!
//! It wakes when a write on this node enqueues a delivery, when a try
//! finishes, and at the next due time (polling at least every few seconds
//! for what other nodes enqueue). Sends never wait for it: they only
//! insert outbox rows. A claim lasts [`LEASE_MS`]; a node that dies
//! mid-try leaves a claim that expires, so another node (or this one after
//! a restart) takes the row over: delivery is at least once.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use livechat_domain::now_ms;
use livechat_domain::webhooks::{
    sign, Backoff, Envelope, EventType, InvalidWebhook, NextTry, Target, TargetRules,
    DELIVERY_TIMEOUT_SECS, EVENT_ID_HEADER, SIGNATURE_HEADER,
};
use livechat_store::models::UserRow;
use livechat_store::webhooks::{After, Claimed, DeliveryRow, TryResult};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::dto::Renderer;
use crate::state::AppState;

/// How long a claim holds: longer than a try can take (the timeout plus
/// name resolution), so a live node never loses a row it is sending.
pub const LEASE_MS: i64 = 30_000;

/// Rows claimed at a time.
const BATCH: i64 = 16;

/// Deliveries in flight at once on one node.
const IN_FLIGHT: usize = 16;

/// The longest sleep between two looks at the outbox.
const POLL: Duration = Duration::from_secs(5);

/// Checks a target URL as [`TargetRules::check_url`] does, then resolves
/// its host (unless it is an address literal) and checks every address.
pub async fn check_target(rules: &TargetRules, raw: &str) -> Result<Target, InvalidWebhook> {
    let target = rules.check_url(raw)?;
    let addrs: Vec<IpAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| InvalidWebhook {
                field: "url",
                detail: format!("cannot resolve `{}`: {e}", target.host),
            })?
            .map(|a| a.ip())
            .collect(),
    };
    rules.check_addresses(&target, &addrs)?;
    Ok(target)
}

/// Resolves names for the delivery client and refuses a private,
/// loopback or link-local answer for a host that is not allowed, so a
/// name cannot be re-pointed between the check and the connection.
struct CheckedResolver {
    rules: Arc<TargetRules>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.rules.clone();
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !rules.is_allowed(&host)
                && addrs
                    .iter()
                    .any(|a| livechat_domain::webhooks::is_forbidden_ip(a.ip()))
            {
                return Err(format!("`{host}` resolves to a private address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The running worker of this node.
pub struct WebhookWorker {
    stopping: Arc<AtomicBool>,
    wake: Arc<Notify>,
    done: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl WebhookWorker {
    /// Starts the worker for `state`'s database under a fresh node id
    /// (inside the tokio runtime).
    pub fn start(state: AppState) -> Result<Self, String> {
        let rules = Arc::new(state.settings.webhook_rules());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(DELIVERY_TIMEOUT_SECS))
            .connect_timeout(Duration::from_secs(DELIVERY_TIMEOUT_SECS))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("livechat-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver {
                rules: rules.clone(),
            }))
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        let node = format!("node-{}", hex::encode(rand::random::<[u8; 6]>()));
        let stopping = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        let worker = Worker {
            backoff: Backoff::from_secs(state.settings.webhooks.retry_base_secs),
            state,
            client,
            rules,
            node,
            stopping: stopping.clone(),
            wake: wake.clone(),
        };
        let done = tokio::spawn(worker.run());
        Ok(Self {
            stopping,
            wake,
            done: tokio::sync::Mutex::new(Some(done)),
        })
    }

    /// Stops claiming, lets the tries in flight finish (each is bounded by
    /// the delivery timeout) and releases this node's claims.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        if let Some(done) = self.done.lock().await.take() {
            let _ = done.await;
        }
    }
}

#[derive(Clone)]
struct Worker {
    state: AppState,
    client: reqwest::Client,
    rules: Arc<TargetRules>,
    node: String,
    backoff: Backoff,
    stopping: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Worker {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst) || self.state.draining.load(Ordering::SeqCst)
    }

    async fn run(self) {
        let enqueued = self.state.db.outbox_signal();
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut tries: JoinSet<()> = JoinSet::new();
        tracing::info!(node = %self.node, "webhook worker started");
        while !self.stopping() {
            while tries.try_join_next().is_some() {}
            let claimed = self.claim(slots.available_permits()).await;
            let full = claimed.len() as i64 == BATCH;
            for c in claimed {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break;
                };
                let me = self.clone();
                tries.spawn(async move {
                    me.deliver(c).await;
                    drop(permit);
                    me.wake.notify_one();
                });
            }
            if full && slots.available_permits() > 0 {
                continue;
            }
            let wait = self.until_next_due().await;
            tokio::select! {
                _ = enqueued.notified() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        while tries.join_next().await.is_some() {}
        let node = self.node.clone();
        match self
            .state
            .db
            .write(move |c| livechat_store::webhooks::release(c, &node))
            .await
        {
            Ok(n) => tracing::info!(node = %self.node, released = n, "webhook worker stopped"),
            Err(e) => tracing::warn!(error = %e, "cannot release webhook claims"),
        }
    }

    async fn claim(&self, room: usize) -> Vec<Claimed> {
        if room == 0 {
            return Vec::new();
        }
        let node = self.node.clone();
        let limit = BATCH.min(room as i64);
        match self
            .state
            .db
            .write(move |c| livechat_store::webhooks::claim(c, &node, now_ms(), LEASE_MS, limit))
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim webhook deliveries");
                Vec::new()
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        match self.state.db.read(livechat_store::webhooks::next_due).await {
            Ok(Some(at)) => {
                let ms = (at - now_ms()).clamp(0, POLL.as_millis() as i64);
                // A row due now but held by a try in flight: its end wakes us.
                Duration::from_millis(ms.max(10) as u64)
            }
            Ok(None) => POLL,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the webhook outbox");
                POLL
            }
        }
    }

    /// One try of one claimed delivery, logged.
    async fn deliver(&self, claimed: Claimed) {
        let d = claimed.delivery;
        let started_at = now_ms();
        let started = Instant::now();
        let (status, error) = match self.body(&d).await {
            Ok(body) => self.post(&claimed.url, &claimed.secret, &d, body).await,
            Err(e) => (None, Some(e)),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let now = now_ms();
        let attempts = u32::try_from(d.attempts).unwrap_or(0).saturating_add(1);
        let after = if delivered {
            After::Delivered(now)
        } else {
            match self.backoff.next(d.created_at, attempts, now) {
                NextTry::At(at) => After::RetryAt(at),
                NextTry::GiveUp => After::GiveUp(now),
            }
        };
        let tried = TryResult {
            at: started_at,
            status,
            error,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        };
        tracing::info!(
            delivery = d.id,
            event = %d.event_id,
            status = ?tried.status,
            error = tried.error.as_deref().unwrap_or(""),
            ?after,
            "webhook try"
        );
        let id = d.id;
        if let Err(e) = self
            .state
            .db
            .write(move |c| livechat_store::webhooks::record(c, id, &tried, after))
            .await
        {
            // The claim expires and the row is tried again.
            tracing::warn!(error = %e, delivery = id, "cannot record a webhook try");
        }
    }

    /// POSTs `body`; answers the status, and what went wrong when it was
    /// not a 2xx.
    async fn post(
        &self,
        url: &str,
        secret: &str,
        d: &DeliveryRow,
        body: String,
    ) -> (Option<i32>, Option<String>) {
        let target = match check_target(&self.rules, url).await {
            Ok(t) => t,
            Err(e) => return (None, Some(format!("refused target: {e}"))),
        };
        let t = now_ms().div_euclid(1000);
        let signature = sign(secret, t, body.as_bytes());
        let sent = self
            .client
            .post(target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, &d.event_id)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(res) => {
                let status = i32::from(res.status().as_u16());
                if res.status().is_success() {
                    (Some(status), None)
                } else {
                    (Some(status), Some(format!("answered HTTP {status}")))
                }
            }
            Err(e) if e.is_timeout() => (
                None,
                Some(format!("no answer within {DELIVERY_TIMEOUT_SECS} s")),
            ),
            Err(e) => (None, Some(error_chain(&e))),
        }
    }

    /// The delivery's body: the stored one, or the event rendered now and
    /// stored before the first try (so every retry sends the same bytes).
    async fn body(&self, d: &DeliveryRow) -> Result<String, String> {
        if let Some(body) = &d.payload {
            return Ok(body.clone());
        }
        let rendered = self.render(d).await?;
        let id = d.id;
        self.state
            .db
            .write(move |c| livechat_store::webhooks::fix_payload(c, id, &rendered))
            .await
            .map_err(|e| format!("cannot store the body: {e}"))
    }

    /// Renders an event's body from what it is about: a message as
    /// participants see it (`message.created` and `call.ended` as it was
    /// sent, even if recalled since; `message.recalled` empty, marked), or
    /// the conversation.
    async fn render(&self, d: &DeliveryRow) -> Result<String, String> {
        let event = EventType::parse(&d.event_type)
            .ok_or_else(|| format!("unknown event type `{}`", d.event_type))?;
        let subject = d
            .subject_id
            .ok_or_else(|| format!("a {event} event names nothing"))?;
        let settings = self.state.settings.clone();
        let (event_id, created_at) = (d.event_id.clone(), d.created_at);
        self.state
            .db
            .read(move |c| {
                let online = HashSet::new();
                let body = match event {
                    EventType::MessageCreated
                    | EventType::CallEnded
                    | EventType::MessageRecalled => {
                        let Some(mut row) = livechat_store::messages::get(c, subject)? else {
                            return Ok(Err(format!("message {subject} no longer exists")));
                        };
                        if event != EventType::MessageRecalled {
                            row.recalled_at = None;
                        }
                        let users = crate::dto::message_users(c, std::slice::from_ref(&row))?;
                        let data = Renderer::new(&settings, &users, &online).message(&row);
                        envelope(&event_id, event, created_at, data)
                    }
                    EventType::ConversationCreated => {
                        let Some(conv) = livechat_store::conversations::load(c, subject)? else {
                            return Ok(Err(format!("conversation {subject} no longer exists")));
                        };
                        let users: HashMap<String, UserRow> =
                            crate::dto::conversation_users(c, std::slice::from_ref(&conv))?;
                        let data = Renderer::new(&settings, &users, &online).conversation(&conv);
                        envelope(&event_id, event, created_at, data)
                    }
                    EventType::Ping => Err("a ping without its body".to_string()),
                };
                Ok(body)
            })
            .await
            .map_err(|e| format!("cannot render the event: {e}"))?
    }
}

fn envelope<T: serde::Serialize>(
    id: &str,
    event: EventType,
    created_at: i64,
    data: T,
) -> Result<String, String> {
    Envelope {
        id,
        event_type: event.as_str(),
        created_at,
        data,
    }
    .to_body()
    .map_err(|e| format!("cannot encode the event: {e}"))
}

/// An error with its causes, for the delivery log.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
