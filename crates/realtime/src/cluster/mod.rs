//! Several nodes as one system, over Redis.
//!
//! Each node keeps its own [`HubHandle`] (its sockets, its queues); a
//! [`Cluster`] joins the hubs of every node that shares one Redis and one
//! key prefix:
//!
//! * **Events.** Every [`Broker`] call is applied to the local hub at once
//!   and sent on the bus (`<prefix>:bus`, one pub/sub channel); every other
//!   node applies it to its own hub. A signal for one socket goes on the bus
//!   only when the socket belongs to another node (socket ids carry their
//!   node: each node takes a number from `<prefix>:seq` at start and its
//!   socket ids begin at that number times 2⁴⁰).
//! * **Presence** is the union over nodes. Each node keeps the users it
//!   holds in a hash (`<prefix>:node:<id>:users`, user → sockets), says so on
//!   the bus when a user's first socket opens or last closes, and refreshes
//!   a liveness key (`<prefix>:node:<id>:alive`) every fifth of
//!   `node_ttl`; the key lives 70 % of it. On the same beat each node
//!   reads every other node's hash and hands it to its hub
//!   ([`HubHandle::remote_node`]), which corrects anything the bus lost, and
//!   a node whose liveness key has expired is dropped with its users: a
//!   node killed without a goodbye has its users offline everywhere within
//!   `node_ttl`.
//! * **Caches.** [`Broker::user_changed`] reaches every node's listener
//!   ([`Cluster::on_user_changed`]); when a node's bus connection comes
//!   back after a break, its listener is called with `None` (flush
//!   everything), since it may have missed changes meanwhile.
//! * **Counters** for rate limits live in Redis ([`Cluster::counters`]), so a
//!   limit holds for the whole cluster.
//!
//! Delivery over the bus is best effort, as everywhere in the real-time
//! layer: a node that loses Redis for a moment keeps serving its own
//! sockets, and clients catch up through resume.

mod bus;
mod counters;
mod shared;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::hub::{spawn_hub_reporting, HubConfig, HubHandle, LocalPresence};
use crate::{Audience, Broker};
use bus::{BusEvent, Envelope};
pub use counters::{CounterError, RedisCounters};
pub use shared::{SharedError, SharedRecords};

/// Socket ids of node number `n` start at `n << CONN_ID_SHIFT`: far apart,
/// and still exact in a JavaScript number (below 2⁵³) for 4096 numbers.
const CONN_ID_SHIFT: u32 = 40;
const NODE_NUMBERS: u64 = 4096;

/// Why a cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis refused or did not answer.
    #[error("cannot use Redis at {url}: {source}")]
    Redis {
        /// The URL, without its password.
        url: String,
        /// What Redis said.
        source: redis::RedisError,
    },
}

/// How a node joins its cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://…` (or `rediss://…`).
    pub redis_url: String,
    /// Prefix of every key and channel: nodes with the same Redis and the
    /// same prefix form one cluster.
    pub prefix: String,
    /// A node silent for this long is taken for dead, its users offline.
    pub node_ttl: Duration,
    /// The local hub's settings (its first socket id is set here).
    pub hub: HubConfig,
}

/// Called when a user changed on some node (`Some(id)`), or when anything
/// may have changed unseen (`None`: the bus was broken for a while).
pub type UserListener = Arc<dyn Fn(Option<&str>) + Send + Sync>;

/// One node of a cluster: a [`Broker`] that reaches every node.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    node_id: String,
    node_number: u64,
    prefix: String,
    hub: HubHandle,
    redis: ConnectionManager,
    bus: mpsc::UnboundedSender<BusEvent>,
    /// Whether Redis answered the last heartbeat.
    healthy: AtomicBool,
    /// Age in ms of the last bus message received from another node.
    lag_ms: AtomicI64,
    listener: Mutex<Option<UserListener>>,
    /// The other nodes alive at the last reconcile: one that has left the
    /// node set since (another node found it dead and removed it) is gone
    /// for this node too.
    known_nodes: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.inner.node_id)
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

/// The keys and channel of one cluster.
struct Keys {
    prefix: String,
}

impl Keys {
    fn bus(&self) -> String {
        format!("{}:bus", self.prefix)
    }
    fn seq(&self) -> String {
        format!("{}:seq", self.prefix)
    }
    fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }
    fn alive(&self, node: &str) -> String {
        format!("{}:node:{node}:alive", self.prefix)
    }
    fn users(&self, node: &str) -> String {
        format!("{}:node:{node}:users", self.prefix)
    }
}

/// `redis://user:secret@host` without the secret, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(an unparsable URL)".to_string(),
    }
}

fn now_ms() -> i64 {
    livechat_domain::now_ms()
}

impl Cluster {
    /// Connects to Redis, takes a node number, starts the local hub and the
    /// cluster's tasks, and returns them. The hub serves this node's sockets
    /// as usual; publish through the returned `Cluster`.
    ///
    /// # Errors
    /// [`ClusterError::Redis`] when Redis cannot be reached or refuses.
    pub async fn start(config: ClusterConfig) -> Result<(Self, HubHandle), ClusterError> {
        let fail = |source| ClusterError::Redis {
            url: redacted(&config.redis_url),
            source,
        };
        let client = redis::Client::open(config.redis_url.as_str()).map_err(fail)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_max_delay(Duration::from_secs(1));
        let mut redis = ConnectionManager::new_with_config(client.clone(), manager_config)
            .await
            .map_err(fail)?;
        let keys = Keys {
            prefix: config.prefix.clone(),
        };
        let number: u64 = redis.incr(keys.seq(), 1).await.map_err(fail)?;
        let node_number = number % NODE_NUMBERS;
        let node_id = number.to_string();
        let hub_config = HubConfig {
            first_conn_id: (node_number << CONN_ID_SHIFT) + 1,
            ..config.hub.clone()
        };
        let (hub, reports) = spawn_hub_reporting(hub_config);
        let (bus, outbox) = mpsc::unbounded_channel();
        let cluster = Self {
            inner: Arc::new(Inner {
                node_id: node_id.clone(),
                node_number,
                prefix: config.prefix.clone(),
                hub: hub.clone(),
                redis: redis.clone(),
                bus,
                healthy: AtomicBool::new(true),
                lag_ms: AtomicI64::new(0),
                listener: Mutex::new(None),
                known_nodes: Mutex::new(HashSet::new()),
            }),
        };
        // Subscribed before announcing itself, so nothing said after the
        // announcement is missed.
        let pubsub = subscribe(&client, &keys).await.map_err(fail)?;
        cluster.announce().await.map_err(fail)?;
        info!(node = %node_id, prefix = %config.prefix, "joined the cluster");

        tokio::spawn(cluster.clone().send_bus(outbox));
        tokio::spawn(cluster.clone().report_presence(reports));
        tokio::spawn(cluster.clone().listen(client, pubsub));
        tokio::spawn(cluster.clone().beat(config.node_ttl));
        cluster.reconcile().await;
        Ok((cluster, hub))
    }

    /// This node's id in the cluster.
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// Whether Redis answered this node's last heartbeat (`/ready`).
    pub fn is_healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// How old, in seconds, the last event from another node was when it
    /// arrived.
    pub fn lag_seconds(&self) -> f64 {
        self.inner.lag_ms.load(Ordering::Relaxed).max(0) as f64 / 1000.0
    }

    /// Sets who hears of changed users (the node's user cache).
    pub fn on_user_changed(&self, listener: UserListener) {
        if let Ok(mut slot) = self.inner.listener.lock() {
            *slot = Some(listener);
        }
    }

    /// Counters shared by every node (rate limits).
    pub fn counters(&self) -> RedisCounters {
        RedisCounters::new(
            self.inner.redis.clone(),
            format!("{}:count", self.inner.prefix),
        )
    }

    /// Records shared by every node, under one lock (calls).
    pub fn records(&self, name: &str) -> SharedRecords {
        SharedRecords::new(
            self.inner.redis.clone(),
            format!("{}:{name}", self.inner.prefix),
            self.inner.node_id.clone(),
        )
    }

    /// Says goodbye: the other nodes take this node's users offline at once
    /// instead of after the TTL. Call before shutting the hub down.
    pub async fn leave(&self) {
        let keys = self.keys();
        let mut redis = self.inner.redis.clone();
        let node = &self.inner.node_id;
        let _: Result<(), _> = redis::pipe()
            .srem(keys.nodes(), node)
            .del(keys.alive(node))
            .del(keys.users(node))
            .query_async(&mut redis)
            .await;
        // Sent here rather than queued, so it is out before the runtime goes.
        let _: Result<(), _> = redis
            .publish(keys.bus(), self.envelope_text(BusEvent::Leaving))
            .await;
        info!(node = %node, "left the cluster");
    }

    fn keys(&self) -> Keys {
        Keys {
            prefix: self.inner.prefix.clone(),
        }
    }

    fn send(&self, event: BusEvent) {
        let _ = self.inner.bus.send(event);
    }

    fn envelope_text(&self, event: BusEvent) -> String {
        let envelope = Envelope {
            node: self.inner.node_id.clone(),
            at: now_ms(),
            event,
        };
        serde_json::to_string(&envelope).unwrap_or_default()
    }

    /// Registers this node with its users (all of them: at start, and again
    /// after Redis came back, when the hash may be stale or gone).
    async fn announce(&self) -> redis::RedisResult<()> {
        let keys = self.keys();
        let node = &self.inner.node_id;
        let users = self.inner.hub.local_users().await.unwrap_or_default();
        let mut redis = self.inner.redis.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .sadd(keys.nodes(), node)
            .set(keys.alive(node), now_ms())
            .del(keys.users(node));
        if !users.is_empty() {
            pipe.hset_multiple(keys.users(node), &users);
        }
        pipe.query_async(&mut redis).await
    }

    /// Sends the bus's messages in order, several per round trip when they
    /// queue up.
    async fn send_bus(self, mut outbox: mpsc::UnboundedReceiver<BusEvent>) {
        let channel = self.keys().bus();
        let mut redis = self.inner.redis.clone();
        let mut batch = Vec::new();
        while outbox.recv_many(&mut batch, 256).await > 0 {
            let mut pipe = redis::pipe();
            for event in batch.drain(..) {
                pipe.publish(&channel, self.envelope_text(event)).ignore();
            }
            if let Err(e) = pipe.query_async::<()>(&mut redis).await {
                warn!(error = %e, "cannot publish on the cluster bus; events lost for other nodes");
            }
        }
    }

    /// Mirrors the hub's socket counts into this node's users hash, and
    /// says on the bus when a user's first socket opened or last closed.
    async fn report_presence(self, mut reports: mpsc::UnboundedReceiver<LocalPresence>) {
        let keys = self.keys();
        let users_key = keys.users(&self.inner.node_id);
        let mut redis = self.inner.redis.clone();
        let mut held: HashMap<String, usize> = HashMap::new();
        while let Some(LocalPresence { user_id, sockets }) = reports.recv().await {
            let before = if sockets == 0 {
                held.remove(&user_id).unwrap_or(0)
            } else {
                held.insert(user_id.clone(), sockets).unwrap_or(0)
            };
            let result: redis::RedisResult<()> = if sockets == 0 {
                redis.hdel(&users_key, &user_id).await
            } else {
                redis.hset(&users_key, &user_id, sockets).await
            };
            if let Err(e) = result {
                debug!(error = %e, "cannot record presence in Redis; the next heartbeat will");
            }
            if (before == 0) != (sockets == 0) {
                self.send(BusEvent::Presence {
                    user_id,
                    online: sockets > 0,
                });
            }
        }
    }

    /// Applies what the other nodes say, reconnecting when the bus breaks.
    async fn listen(self, client: redis::Client, first: redis::aio::PubSub) {
        let keys = self.keys();
        let mut pubsub = Some(first);
        loop {
            if let Some(connection) = pubsub.take() {
                let mut messages = connection.into_on_message();
                while let Some(message) = messages.next().await {
                    match serde_json::from_slice::<Envelope>(message.get_payload_bytes()) {
                        Ok(envelope) => self.apply(envelope),
                        Err(e) => warn!(error = %e, "unreadable message on the cluster bus"),
                    }
                }
                warn!("the cluster bus connection ended; reconnecting");
                self.inner.healthy.store(false, Ordering::Relaxed);
            }
            // A pause between attempts while Redis is away (not a
            // synchronisation: nothing waits on it).
            tokio::time::sleep(Duration::from_millis(500)).await;
            match subscribe(&client, &keys).await {
                Ok(connection) => {
                    info!("the cluster bus is back; flushing caches and re-announcing");
                    pubsub = Some(connection);
                    self.notify_listener(None);
                    if let Err(e) = self.announce().await {
                        warn!(error = %e, "cannot re-announce this node");
                    }
                    self.reconcile().await;
                }
                Err(e) => debug!(error = %e, "the cluster bus is still away"),
            }
        }
    }

    fn notify_listener(&self, user_id: Option<&str>) {
        let listener = self.inner.listener.lock().ok().and_then(|l| l.clone());
        if let Some(listener) = listener {
            listener(user_id);
        }
    }

    fn apply(&self, Envelope { node, at, event }: Envelope) {
        if node == self.inner.node_id {
            return;
        }
        self.inner
            .lag_ms
            .store(now_ms().saturating_sub(at), Ordering::Relaxed);
        let hub = &self.inner.hub;
        match event {
            BusEvent::Publish {
                users,
                admins,
                frame,
            } => hub.publish(Audience { users, admins }, Arc::from(frame)),
            BusEvent::SendTo {
                user_id,
                conn_id,
                frame,
            } => {
                if self.is_local_socket(conn_id) {
                    hub.send_to(&user_id, conn_id, Arc::from(frame));
                }
            }
            BusEvent::Link { a, b } => hub.link(&a, &b),
            BusEvent::SetContacts { user_id, contacts } => hub.set_contacts(&user_id, contacts),
            BusEvent::CloseUser {
                user_id,
                code,
                reason,
            } => hub.close_user(&user_id, code, &reason),
            BusEvent::Presence { user_id, online } => hub.remote_presence(&node, &user_id, online),
            BusEvent::UserChanged { user_id } => self.notify_listener(Some(&user_id)),
            BusEvent::Leaving => hub.remote_node(&node, HashSet::new()),
        }
    }

    fn is_local_socket(&self, conn_id: u64) -> bool {
        conn_id >> CONN_ID_SHIFT == self.inner.node_number
    }

    /// Keeps this node alive in Redis and the other nodes' users in step.
    async fn beat(self, node_ttl: Duration) {
        let period = (node_ttl / 5).max(Duration::from_millis(200));
        let alive_for = (node_ttl * 7 / 10).max(period * 2);
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let keys = self.keys();
        let node = self.inner.node_id.clone();
        let mut redis = self.inner.redis.clone();
        loop {
            ticks.tick().await;
            let alive_ms = u64::try_from(alive_for.as_millis()).unwrap_or(u64::MAX);
            let result: redis::RedisResult<()> = redis::pipe()
                .sadd(keys.nodes(), &node)
                .ignore()
                .pset_ex(keys.alive(&node), now_ms(), alive_ms)
                .ignore()
                .query_async(&mut redis)
                .await;
            let was_healthy = self.inner.healthy.swap(result.is_ok(), Ordering::Relaxed);
            match result {
                Ok(()) => {
                    if !was_healthy {
                        // Redis was away: the others may have dropped this
                        // node, and its hash may be stale.
                        if let Err(e) = self.announce().await {
                            warn!(error = %e, "cannot re-announce this node");
                        }
                    }
                    self.reconcile().await;
                }
                Err(e) => warn!(error = %e, "cluster heartbeat failed"),
            }
        }
    }

    /// The sockets `user_id` holds on the other live nodes: the user's
    /// entry in each one's hash of users (`<prefix>:node:<id>:users`),
    /// read in one pipeline over the nodes listed in `<prefix>:nodes`.
    pub async fn remote_sockets_of(&self, user_id: &str) -> Result<u64, ClusterError> {
        let keys = self.keys();
        let mut redis = self.inner.redis.clone();
        let failed = |source| ClusterError::Redis {
            url: "(the cluster's Redis)".into(),
            source,
        };
        let nodes: Vec<String> = redis.smembers(keys.nodes()).await.map_err(failed)?;
        let others: Vec<&String> = nodes.iter().filter(|n| **n != self.inner.node_id).collect();
        if others.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for node in &others {
            pipe.exists(keys.alive(node))
                .hget(keys.users(node), user_id);
        }
        let answers: Vec<(bool, Option<u64>)> =
            pipe.query_async(&mut redis).await.map_err(failed)?;
        Ok(answers
            .into_iter()
            .filter(|(alive, _)| *alive)
            .filter_map(|(_, count)| count)
            .sum())
    }

    /// Reads which users every other live node holds and hands each listing
    /// to the hub; drops the nodes whose liveness key expired.
    async fn reconcile(&self) {
        let keys = self.keys();
        let mut redis = self.inner.redis.clone();
        let nodes: Vec<String> = match redis.smembers(keys.nodes()).await {
            Ok(nodes) => nodes,
            Err(e) => {
                debug!(error = %e, "cannot list the cluster's nodes");
                return;
            }
        };
        let others: Vec<&String> = nodes.iter().filter(|n| **n != self.inner.node_id).collect();
        let vanished: Vec<String> = self
            .inner
            .known_nodes
            .lock()
            .map(|known| {
                known
                    .iter()
                    .filter(|n| !others.contains(n))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for node in vanished {
            info!(node = %node, "a node left the cluster; its users are offline");
            self.inner.hub.remote_node(&node, HashSet::new());
        }
        if others.is_empty() {
            self.remember_nodes(HashSet::new());
            return;
        }
        let mut pipe = redis::pipe();
        for node in &others {
            pipe.exists(keys.alive(node)).hkeys(keys.users(node));
        }
        let answers: Vec<(bool, Vec<String>)> = match pipe.query_async(&mut redis).await {
            Ok(answers) => answers,
            Err(e) => {
                debug!(error = %e, "cannot read the other nodes' users");
                return;
            }
        };
        let mut alive_nodes = HashSet::new();
        for (node, (alive, users)) in others.into_iter().zip(answers) {
            if alive {
                alive_nodes.insert(node.clone());
                self.inner
                    .hub
                    .remote_node(node, users.into_iter().collect());
            } else {
                info!(node = %node, "a node stopped answering; its users are offline");
                self.inner.hub.remote_node(node, HashSet::new());
                let _: redis::RedisResult<()> = redis::pipe()
                    .srem(keys.nodes(), node)
                    .del(keys.users(node))
                    .query_async(&mut redis)
                    .await;
            }
        }
        self.remember_nodes(alive_nodes);
    }

    fn remember_nodes(&self, nodes: HashSet<String>) {
        if let Ok(mut known) = self.inner.known_nodes.lock() {
            *known = nodes;
        }
    }
}

async fn subscribe(client: &redis::Client, keys: &Keys) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(keys.bus()).await?;
    Ok(pubsub)
}

impl Broker for Cluster {
    fn publish(&self, audience: Audience, frame: Arc<str>) {
        self.inner.hub.publish(audience.clone(), frame.clone());
        self.send(BusEvent::Publish {
            users: audience.users,
            admins: audience.admins,
            frame: frame.to_string(),
        });
    }

    fn link(&self, a: &str, b: &str) {
        self.inner.hub.link(a, b);
        self.send(BusEvent::Link {
            a: a.to_owned(),
            b: b.to_owned(),
        });
    }

    fn set_contacts(&self, user_id: &str, contacts: Vec<String>) {
        self.inner.hub.set_contacts(user_id, contacts.clone());
        self.send(BusEvent::SetContacts {
            user_id: user_id.to_owned(),
            contacts,
        });
    }

    fn send_to_socket(&self, user_id: &str, conn_id: u64, frame: Arc<str>) {
        if self.is_local_socket(conn_id) {
            self.inner.hub.send_to(user_id, conn_id, frame);
        } else {
            self.send(BusEvent::SendTo {
                user_id: user_id.to_owned(),
                conn_id,
                frame: frame.to_string(),
            });
        }
    }

    fn close_user(&self, user_id: &str, code: u16, reason: &str) {
        self.inner.hub.close_user(user_id, code, reason);
        self.send(BusEvent::CloseUser {
            user_id: user_id.to_owned(),
            code,
            reason: reason.to_owned(),
        });
    }

    fn user_changed(&self, user_id: &str) {
        self.send(BusEvent::UserChanged {
            user_id: user_id.to_owned(),
        });
    }

    fn is_ready(&self) -> bool {
        self.is_healthy()
    }

    fn lag_seconds(&self) -> f64 {
        Cluster::lag_seconds(self)
    }
}
