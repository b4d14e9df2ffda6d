//! The hub: one task that owns every socket, presence and contact set.
//!
//! # Shape
//!
//! [`spawn_hub`] starts the hub task and returns a [`HubHandle`]. The handle
//! is a cloneable sender of commands; the task serves them one at a time, so
//! its state (user → sockets index, contact relation, online admins) needs no
//! lock and every command sees the effects of the ones before it. Questions
//! (`connect`, `online_users`, `is_online`, `stats`, `shutdown`) carry a
//! oneshot for the answer; if the hub is gone the caller gets
//! [`HubError::Stopped`], never a panic.
//!
//! # Queues
//!
//! Each socket has a bounded queue of [`Outbound`] items (capacity
//! [`HubConfig::queue_capacity`]). Fan-out uses `try_send` only, so one slow
//! client can never stall the hub or the other sockets: when a queue is full,
//! that socket is removed and closed with 1008 ([`OVERFLOW_REASON`]). Closing
//! must work precisely when the queue is full, so it goes two ways at once:
//!
//! * out of band, through a oneshot that [`Connection::recv`] and
//!   [`Connection::closed`] watch before the queue, so the socket task learns
//!   of it even while it is stuck writing to a client that stopped reading;
//! * in band, through one queue slot reserved when the socket was registered
//!   (an owned permit), so a task that only reads [`Connection::rx`] still
//!   receives the close after the frames already queued.
//!
//! # Presence
//!
//! A user is online while he has at least one socket. Going online or
//! offline sends one `status` frame, serialized once, to his online contacts
//! and every online admin (never to himself). The contact relation is kept
//! symmetric: X and Y are contacts when X's list (given to
//! [`HubHandle::connect`]) names Y, or Y's names X, or [`HubHandle::link`]
//! joined them. To keep memory proportional to who is online, a relation
//! between two offline users is forgotten; either side's next `connect`
//! brings it back from the database.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use crate::frames::{online_users_frame, status_frame, Presence};
use crate::{Audience, ADMIN_QUEUE_CAPACITY, PING_INTERVAL, QUEUE_CAPACITY};

/// Close reason sent (with code 1008) to a socket whose queue overflowed.
pub const OVERFLOW_REASON: &str = "too slow: outbound queue overflowed";
/// Close reason sent (with code 1001) to every socket by [`HubHandle::shutdown`].
pub const SHUTDOWN_REASON: &str = "server shutting down";

/// Close code for a queue overflow (policy violation).
const CLOSE_POLICY: u16 = 1008;
/// Close code for a server shutdown (going away).
const CLOSE_GOING_AWAY: u16 = 1001;

/// Settings of the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// How many frames each socket's queue holds before the socket is
    /// deemed too slow and closed with 1008. Values below 1 are taken as 1.
    pub queue_capacity: usize,
    /// The same for admins' sockets: an admin's monitor receives every
    /// message of the platform, so its queue must absorb bursts that a
    /// participant's never sees.
    pub admin_queue_capacity: usize,
}

impl Default for HubConfig {
    /// A queue of [`QUEUE_CAPACITY`] (256) frames per socket, and of
    /// [`ADMIN_QUEUE_CAPACITY`] (4096) per admin socket.
    fn default() -> Self {
        Self {
            queue_capacity: QUEUE_CAPACITY,
            admin_queue_capacity: ADMIN_QUEUE_CAPACITY,
        }
    }
}

/// One item of a socket's outbound queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A JSON text frame to write as is.
    Frame(Arc<str>),
    /// Close the WebSocket with this code and reason, then end the socket
    /// task. Nothing follows it.
    Close {
        /// WebSocket close code (1001, 1008, 4403…).
        code: u16,
        /// Human-readable reason, sent in the close frame.
        reason: String,
    },
}

/// Why the hub could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// The hub task has ended (after [`HubHandle::shutdown`], or because the
    /// runtime is going down).
    #[error("the real-time hub has stopped")]
    Stopped,
}

/// Counters for health checks and the admin dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct HubStats {
    /// Open sockets, all users together.
    pub sockets: usize,
    /// Users with at least one open socket, admins included.
    pub users_online: usize,
}

/// One registered socket, as handed to its socket task.
///
/// Read it with [`Connection::recv`], which yields queued frames and, first
/// of all, a close request from the hub. While writing a frame to a slow
/// client, race the write against [`Connection::closed`] so that a close
/// request is not stuck behind it. When the socket ends for any reason, call
/// [`HubHandle::disconnect`] with [`Connection::id`] (the hub also notices
/// abandoned queues on its own, within [`PING_INTERVAL`], as a safety net).
///
/// `rx` is public for tasks that prefer to read the queue directly: the hub
/// always puts the final [`Outbound::Close`] in it as well (a slot is
/// reserved for it), only later than the out-of-band signal.
#[derive(Debug)]
pub struct Connection {
    /// This socket's id, unique for the hub's lifetime.
    pub id: u64,
    /// The socket's outbound queue. Ends (`None`) once the hub has dropped
    /// the socket.
    pub rx: mpsc::Receiver<Outbound>,
    signal: CloseSignal,
}

/// State of a connection's out-of-band close signal.
#[derive(Debug)]
enum CloseSignal {
    /// Not fired yet.
    Armed(oneshot::Receiver<Outbound>),
    /// The hub asked to close; the socket is done.
    Fired,
    /// The hub dropped the signal without firing it (the socket was removed
    /// by `disconnect`, or the hub stopped): only the queue is left.
    Gone,
}

/// What a `Connection::recv` race produced.
enum Step {
    Signal(Result<Outbound, oneshot::error::RecvError>),
    Queue(Option<Outbound>),
}

impl Connection {
    /// The next item for this socket: a close request first if the hub made
    /// one, otherwise the next queued frame, waiting for one if needed.
    ///
    /// After an [`Outbound::Close`] it returns `None`, as it does once the
    /// hub has dropped the socket. Cancel safe: usable in `select!`.
    pub async fn recv(&mut self) -> Option<Outbound> {
        loop {
            let step = match &mut self.signal {
                CloseSignal::Fired => return None,
                CloseSignal::Gone => Step::Queue(self.rx.recv().await),
                CloseSignal::Armed(signal) => {
                    tokio::select! {
                        biased;
                        fired = signal => Step::Signal(fired),
                        item = self.rx.recv() => Step::Queue(item),
                    }
                }
            };
            match step {
                Step::Signal(Ok(close)) => {
                    self.signal = CloseSignal::Fired;
                    return Some(close);
                }
                Step::Signal(Err(_)) => self.signal = CloseSignal::Gone,
                Step::Queue(item) => {
                    if matches!(item, Some(Outbound::Close { .. })) {
                        self.signal = CloseSignal::Fired;
                    }
                    return item;
                }
            }
        }
    }

    /// Resolves with `(code, reason)` when the hub asks to close this socket
    /// (queue overflow, [`HubHandle::close_user`], shutdown). Never resolves
    /// if it never asks, nor after it has already resolved or
    /// [`Connection::recv`] has returned the close. Cancel safe.
    ///
    /// Use it to abandon a write that is blocked on a client that stopped
    /// reading:
    ///
    /// ```text
    /// tokio::select! {
    ///     biased;
    ///     (code, reason) = conn.closed() => { /* close with code, end */ }
    ///     sent = session.text(&*frame) => { /* go on */ }
    /// }
    /// ```
    pub async fn closed(&mut self) -> (u16, String) {
        if let CloseSignal::Armed(signal) = &mut self.signal {
            match signal.await {
                Ok(Outbound::Close { code, reason }) => {
                    self.signal = CloseSignal::Fired;
                    return (code, reason);
                }
                // The hub only ever sends `Close` on this channel.
                Ok(Outbound::Frame(_)) => self.signal = CloseSignal::Fired,
                Err(_) => self.signal = CloseSignal::Gone,
            }
        }
        std::future::pending().await
    }
}

/// A request to the hub task.
#[derive(Debug)]
enum Command {
    Connect {
        user_id: String,
        is_admin: bool,
        contacts: Vec<String>,
        reply: oneshot::Sender<Connection>,
    },
    Disconnect {
        user_id: String,
        conn_id: u64,
    },
    Publish {
        audience: Audience,
        frame: Arc<str>,
    },
    SendTo {
        user_id: String,
        conn_id: u64,
        frame: Arc<str>,
    },
    Link {
        a: String,
        b: String,
    },
    CloseUser {
        user_id: String,
        code: u16,
        reason: String,
    },
    OnlineUsers {
        reply: oneshot::Sender<Vec<String>>,
    },
    IsOnline {
        user_id: String,
        reply: oneshot::Sender<bool>,
    },
    OnlineAmong {
        user_ids: Vec<String>,
        reply: oneshot::Sender<Vec<String>>,
    },
    Stats {
        reply: oneshot::Sender<HubStats>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
    /// Runs the abandoned-socket sweep now (tests; the hub also runs it on a timer).
    #[cfg(test)]
    Sweep {
        done: oneshot::Sender<()>,
    },
}

/// A cloneable handle to the hub task.
///
/// Commands travel over an **unbounded** channel. Fire-and-forget calls
/// (`publish`, `link`, `close_user`, `disconnect`) are made from synchronous
/// code (request handlers, drop paths) that must neither block nor wait, and
/// dropping one instead would lose an event or leave a user shown online
/// forever. The channel cannot grow without bound in practice: the hub does
/// a small, non-blocking amount of work per command (it never awaits a
/// socket), so it drains commands far faster than requests can produce them;
/// the per-socket queues are the bounded part that absorbs slow clients.
#[derive(Debug, Clone)]
pub struct HubHandle {
    commands: mpsc::UnboundedSender<Command>,
}

/// Starts the hub task on the current tokio runtime and returns its handle.
///
/// The hub runs until [`HubHandle::shutdown`] or until every handle is
/// dropped.
///
/// # Panics
/// When called outside a tokio runtime.
pub fn spawn_hub(config: HubConfig) -> HubHandle {
    let (commands, inbox) = mpsc::unbounded_channel();
    tokio::spawn(Hub::new(config).run(inbox));
    HubHandle { commands }
}

impl HubHandle {
    /// Sends a fire-and-forget command; after shutdown it is dropped (there
    /// is nobody left to deliver to).
    fn tell(&self, command: Command) {
        if self.commands.send(command).is_err() {
            debug!("real-time hub stopped; command dropped");
        }
    }

    /// Sends a command carrying a reply channel and awaits the answer.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, HubError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| HubError::Stopped)?;
        answer.await.map_err(|_| HubError::Stopped)
    }

    /// Registers one socket of `user_id`. `contacts`: the ids of the users
    /// he shares a conversation with (loaded by the caller); they replace the
    /// contacts given by his previous `connect`, while relations added by
    /// [`HubHandle::link`] and by the other side's own list are kept.
    ///
    /// The new socket's queue starts with
    /// `{"type":"online_users","users":[…]}`: his online contacts, or for an
    /// admin every online user, sorted, himself excluded. If this is his
    /// first socket, his contacts' and all admins' sockets get
    /// `{"type":"status","user_id":…,"status":"online"}`.
    ///
    /// # Errors
    /// [`HubError::Stopped`] when the hub has shut down.
    pub async fn connect(
        &self,
        user_id: String,
        is_admin: bool,
        contacts: Vec<String>,
    ) -> Result<Connection, HubError> {
        self.ask(|reply| Command::Connect {
            user_id,
            is_admin,
            contacts,
            reply,
        })
        .await
    }

    /// Unregisters socket `conn_id` of `user_id`. When it was his last, he
    /// goes offline (a `status` frame to contacts and admins). Idempotent:
    /// unknown or already removed sockets are ignored.
    pub fn disconnect(&self, user_id: &str, conn_id: u64) {
        self.tell(Command::Disconnect {
            user_id: user_id.to_owned(),
            conn_id,
        });
    }

    /// Queues `frame` once on every socket of the audience: each listed user
    /// (duplicates ignored) and, when `audience.admins`, every online admin
    /// (once, even if also listed). Never blocks. A socket whose queue is
    /// full is removed and closed with 1008 ([`OVERFLOW_REASON`]); if that
    /// was its user's last socket, he goes offline.
    pub fn publish(&self, audience: Audience, frame: Arc<str>) {
        self.tell(Command::Publish { audience, frame });
    }

    /// Queues `frame` on one socket, behind everything published before:
    /// the socket task answers a client's `ping` this way, so its `pong`
    /// tells the client that every earlier event has been queued to it.
    pub fn send_to(&self, user_id: &str, conn_id: u64, frame: Arc<str>) {
        self.tell(Command::SendTo {
            user_id: user_id.to_owned(),
            conn_id,
            frame,
        });
    }

    /// Makes `a` and `b` contacts (a new conversation joins them). If both
    /// are online, each gets a `status` online frame of the other.
    pub fn link(&self, a: &str, b: &str) {
        self.tell(Command::Link {
            a: a.to_owned(),
            b: b.to_owned(),
        });
    }

    /// Closes every socket of `user_id` with `code` and `reason` (4403 when
    /// the user is disabled) and marks him offline.
    pub fn close_user(&self, user_id: &str, code: u16, reason: &str) {
        self.tell(Command::CloseUser {
            user_id: user_id.to_owned(),
            code,
            reason: reason.to_owned(),
        });
    }

    /// Every online user (admins included), sorted.
    ///
    /// # Errors
    /// [`HubError::Stopped`] when the hub has shut down.
    pub async fn online_users(&self) -> Result<Vec<String>, HubError> {
        self.ask(|reply| Command::OnlineUsers { reply }).await
    }

    /// Whether `user_id` has at least one open socket.
    ///
    /// # Errors
    /// [`HubError::Stopped`] when the hub has shut down.
    pub async fn is_online(&self, user_id: &str) -> Result<bool, HubError> {
        let user_id = user_id.to_owned();
        self.ask(|reply| Command::IsOnline { user_id, reply }).await
    }

    /// Those of `user_ids` who are online, in one round trip (the order of
    /// `user_ids`, without duplicates).
    ///
    /// # Errors
    /// [`HubError::Stopped`] when the hub has shut down.
    pub async fn online_among(&self, user_ids: Vec<String>) -> Result<Vec<String>, HubError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.ask(|reply| Command::OnlineAmong { user_ids, reply })
            .await
    }

    /// Open sockets and online users.
    ///
    /// # Errors
    /// [`HubError::Stopped`] when the hub has shut down.
    pub async fn stats(&self) -> Result<HubStats, HubError> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// Sends `Close{1001, "server shutting down"}` to every socket, stops
    /// the hub, and returns once that is done. Later calls get
    /// [`HubError::Stopped`] (and `connect` refuses new sockets).
    ///
    /// # Errors
    /// [`HubError::Stopped`] when the hub had already stopped.
    pub async fn shutdown(&self) -> Result<(), HubError> {
        self.ask(|done| Command::Shutdown { done }).await
    }

    /// Runs the sweep for abandoned sockets now and waits for it.
    #[cfg(test)]
    async fn sweep(&self) -> Result<(), HubError> {
        self.ask(|done| Command::Sweep { done }).await
    }
}

/// The contact relation between two users, from one side's point of view.
/// Bits, because one relation can have several reasons to exist.
type EdgeFlags = u8;
/// [`HubHandle::link`] joined them.
const LINKED: EdgeFlags = 1;
/// The `contacts` this user gave on connect list the other.
const LISTED: EdgeFlags = 2;
/// The other user's `contacts` list this user.
const LISTED_BY_PEER: EdgeFlags = 4;

/// The same reasons seen from the other side.
fn mirror(flags: EdgeFlags) -> EdgeFlags {
    (flags & LINKED) | ((flags & LISTED) << 1) | ((flags & LISTED_BY_PEER) >> 1)
}

/// The hub's side of one socket.
struct Socket {
    id: u64,
    tx: mpsc::Sender<Outbound>,
    /// The slot reserved for the final in-band `Close`.
    reserved: Option<mpsc::OwnedPermit<Outbound>>,
    /// The out-of-band close signal.
    signal: Option<oneshot::Sender<Outbound>>,
}

impl Socket {
    /// Asks the socket task to close, both out of band and in band.
    fn close(self, code: u16, reason: &str) {
        let close = || Outbound::Close {
            code,
            reason: reason.to_owned(),
        };
        if let Some(signal) = self.signal {
            // Fails only if the task already dropped its `Connection`.
            let _ = signal.send(close());
        }
        if let Some(slot) = self.reserved {
            let _sender = slot.send(close());
        }
    }
}

/// A user with at least one open socket.
struct OnlineUser {
    sockets: Vec<Socket>,
}

/// Why a socket leaves the hub.
#[derive(Debug, Clone, Copy)]
enum Leave {
    /// Its task said goodbye (`disconnect`): nothing to send.
    Disconnected,
    /// Its task dropped the queue without saying goodbye: nothing to send.
    Abandoned,
    /// Its queue was full: close it with 1008.
    Overflowed,
}

/// A socket to remove once the current fan-out is over.
struct Removal {
    user_id: String,
    conn_id: u64,
    leave: Leave,
}

/// The hub's state; lives inside the hub task only.
struct Hub {
    queue_capacity: usize,
    admin_queue_capacity: usize,
    next_conn_id: u64,
    /// Online users and their sockets.
    online: HashMap<String, OnlineUser>,
    /// The online users who are admins.
    admins: HashSet<String>,
    /// The symmetric contact relation: `contacts[x][y]` exists iff
    /// `contacts[y][x]` does, with mirrored flags. Only relations with at
    /// least one online side are kept.
    contacts: HashMap<String, HashMap<String, EdgeFlags>>,
}

impl Hub {
    fn new(config: HubConfig) -> Self {
        Self {
            queue_capacity: config.queue_capacity.max(1),
            admin_queue_capacity: config.admin_queue_capacity.max(1),
            next_conn_id: 1,
            online: HashMap::new(),
            admins: HashSet::new(),
            contacts: HashMap::new(),
        }
    }

    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Command>) {
        let mut sweep = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(Command::Shutdown { done }) => {
                        self.shutdown();
                        let _ = done.send(());
                        break;
                    }
                    Some(command) => self.handle(command),
                    None => {
                        debug!("every hub handle dropped; hub stopping");
                        break;
                    }
                },
                _ = sweep.tick() => self.sweep(),
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Connect {
                user_id,
                is_admin,
                contacts,
                reply,
            } => {
                let conn = self.connect(user_id.clone(), is_admin, contacts);
                let conn_id = conn.id;
                if reply.send(conn).is_err() {
                    // The caller gave up waiting: nobody will read this socket.
                    self.remove_sockets(vec![Removal {
                        user_id,
                        conn_id,
                        leave: Leave::Abandoned,
                    }]);
                }
            }
            Command::Disconnect { user_id, conn_id } => self.remove_sockets(vec![Removal {
                user_id,
                conn_id,
                leave: Leave::Disconnected,
            }]),
            Command::Publish { audience, frame } => self.publish(audience, &frame),
            Command::SendTo {
                user_id,
                conn_id,
                frame,
            } => self.send_to(&user_id, conn_id, &frame),
            Command::Link { a, b } => self.link(&a, &b),
            Command::CloseUser {
                user_id,
                code,
                reason,
            } => self.close_user(&user_id, code, &reason),
            Command::OnlineUsers { reply } => {
                let mut users: Vec<String> = self.online.keys().cloned().collect();
                users.sort_unstable();
                let _ = reply.send(users);
            }
            Command::IsOnline { user_id, reply } => {
                let _ = reply.send(self.online.contains_key(&user_id));
            }
            Command::OnlineAmong {
                mut user_ids,
                reply,
            } => {
                let mut seen = HashSet::new();
                user_ids.retain(|id| self.online.contains_key(id) && seen.insert(id.clone()));
                let _ = reply.send(user_ids);
            }
            Command::Stats { reply } => {
                let _ = reply.send(HubStats {
                    sockets: self.online.values().map(|u| u.sockets.len()).sum(),
                    users_online: self.online.len(),
                });
            }
            // Handled by `run`, which stops after it.
            Command::Shutdown { done } => {
                self.shutdown();
                let _ = done.send(());
            }
            #[cfg(test)]
            Command::Sweep { done } => {
                self.sweep();
                let _ = done.send(());
            }
        }
    }

    fn connect(&mut self, user_id: String, is_admin: bool, contacts: Vec<String>) -> Connection {
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        // One slot more than the capacity, reserved at once for the final Close.
        let capacity = if is_admin {
            self.admin_queue_capacity
        } else {
            self.queue_capacity
        };
        let (tx, rx) = mpsc::channel(capacity + 1);
        let reserved = tx.clone().try_reserve_owned().ok();
        let (signal, signal_rx) = oneshot::channel();

        self.set_contacts(&user_id, contacts);
        let listing = self.online_listing(&user_id, is_admin);
        // A fresh queue has room: this cannot fail.
        let _ = tx.try_send(Outbound::Frame(listing));

        let first = !self.online.contains_key(&user_id);
        self.online
            .entry(user_id.clone())
            .or_insert_with(|| OnlineUser {
                sockets: Vec::with_capacity(1),
            })
            .sockets
            .push(Socket {
                id,
                tx,
                reserved,
                signal: Some(signal),
            });
        if is_admin {
            self.admins.insert(user_id.clone());
        } else {
            self.admins.remove(&user_id);
        }
        debug!(user_id = %user_id, conn_id = id, first, "socket registered");
        if first {
            let mut removals = Vec::new();
            self.broadcast_presence(&user_id, Presence::Online, &mut removals);
            self.remove_sockets(removals);
        }
        Connection {
            id,
            rx,
            signal: CloseSignal::Armed(signal_rx),
        }
    }

    /// The `online_users` frame for a new socket of `user_id`.
    fn online_listing(&self, user_id: &str, is_admin: bool) -> Arc<str> {
        let mut users: Vec<&str> = if is_admin {
            self.online
                .keys()
                .map(String::as_str)
                .filter(|u| *u != user_id)
                .collect()
        } else {
            self.contacts
                .get(user_id)
                .map(|peers| {
                    peers
                        .keys()
                        .map(String::as_str)
                        .filter(|p| self.online.contains_key(*p))
                        .collect()
                })
                .unwrap_or_default()
        };
        users.sort_unstable();
        online_users_frame(&users)
    }

    /// Replaces the contacts `user_id` listed himself; other reasons for a
    /// relation (links, the peer's own list) stay.
    fn set_contacts(&mut self, user_id: &str, mut listed: Vec<String>) {
        listed.retain(|c| c != user_id);
        listed.sort_unstable();
        listed.dedup();
        let stale: Vec<String> = self
            .contacts
            .get(user_id)
            .map(|peers| {
                peers
                    .iter()
                    .filter(|(peer, flags)| {
                        **flags & LISTED != 0 && listed.binary_search(peer).is_err()
                    })
                    .map(|(peer, _)| peer.clone())
                    .collect()
            })
            .unwrap_or_default();
        for peer in stale {
            self.clear_edge(user_id, &peer, LISTED);
        }
        for peer in listed {
            self.set_edge(user_id, &peer, LISTED);
        }
    }

    fn set_edge(&mut self, a: &str, b: &str, flags: EdgeFlags) {
        *self
            .contacts
            .entry(a.to_owned())
            .or_default()
            .entry(b.to_owned())
            .or_insert(0) |= flags;
        *self
            .contacts
            .entry(b.to_owned())
            .or_default()
            .entry(a.to_owned())
            .or_insert(0) |= mirror(flags);
    }

    fn clear_edge(&mut self, a: &str, b: &str, flags: EdgeFlags) {
        self.clear_half_edge(a, b, flags);
        self.clear_half_edge(b, a, mirror(flags));
    }

    fn clear_half_edge(&mut self, from: &str, to: &str, flags: EdgeFlags) {
        if let Some(peers) = self.contacts.get_mut(from) {
            if let Some(existing) = peers.get_mut(to) {
                *existing &= !flags;
                if *existing == 0 {
                    peers.remove(to);
                }
            }
            if peers.is_empty() {
                self.contacts.remove(from);
            }
        }
    }

    /// Forgets the relations between `user_id`, who just went offline, and
    /// users who are offline too.
    fn forget_offline_contacts(&mut self, user_id: &str) {
        let Some(peers) = self.contacts.get_mut(user_id) else {
            return;
        };
        let online = &self.online;
        let mut offline_peers = Vec::new();
        peers.retain(|peer, _| {
            let keep = online.contains_key(peer);
            if !keep {
                offline_peers.push(peer.clone());
            }
            keep
        });
        if peers.is_empty() {
            self.contacts.remove(user_id);
        }
        for peer in offline_peers {
            if let Some(back) = self.contacts.get_mut(&peer) {
                back.remove(user_id);
                if back.is_empty() {
                    self.contacts.remove(&peer);
                }
            }
        }
    }

    /// Queues `frame` on every socket of `user_id` (if online). Full or
    /// abandoned queues are noted in `removals`, to be removed once the
    /// caller's iteration is over.
    fn deliver(&self, user_id: &str, frame: &Arc<str>, removals: &mut Vec<Removal>) {
        let Some(user) = self.online.get(user_id) else {
            return;
        };
        for socket in &user.sockets {
            let leave = match socket.tx.try_send(Outbound::Frame(Arc::clone(frame))) {
                Ok(()) => continue,
                Err(TrySendError::Full(_)) => Leave::Overflowed,
                Err(TrySendError::Closed(_)) => Leave::Abandoned,
            };
            removals.push(Removal {
                user_id: user_id.to_owned(),
                conn_id: socket.id,
                leave,
            });
        }
    }

    fn send_to(&mut self, user_id: &str, conn_id: u64, frame: &Arc<str>) {
        let Some(socket) = self
            .online
            .get(user_id)
            .and_then(|u| u.sockets.iter().find(|s| s.id == conn_id))
        else {
            return;
        };
        let leave = match socket.tx.try_send(Outbound::Frame(Arc::clone(frame))) {
            Ok(()) => return,
            Err(TrySendError::Full(_)) => Leave::Overflowed,
            Err(TrySendError::Closed(_)) => Leave::Abandoned,
        };
        self.remove_sockets(vec![Removal {
            user_id: user_id.to_owned(),
            conn_id,
            leave,
        }]);
    }

    fn publish(&mut self, mut audience: Audience, frame: &Arc<str>) {
        audience.users.sort_unstable();
        audience.users.dedup();
        let mut removals = Vec::new();
        for user_id in &audience.users {
            self.deliver(user_id, frame, &mut removals);
        }
        if audience.admins {
            for admin in &self.admins {
                if audience.users.binary_search(admin).is_err() {
                    self.deliver(admin, frame, &mut removals);
                }
            }
        }
        self.remove_sockets(removals);
    }

    /// Sends `user_id`'s presence to his online contacts and every online
    /// admin, once each, never to himself.
    fn broadcast_presence(&self, user_id: &str, presence: Presence, removals: &mut Vec<Removal>) {
        let frame = status_frame(user_id, presence);
        let peers = self.contacts.get(user_id);
        if let Some(peers) = peers {
            for peer in peers.keys() {
                self.deliver(peer, &frame, removals);
            }
        }
        for admin in &self.admins {
            let is_peer = peers.is_some_and(|p| p.contains_key(admin));
            if admin != user_id && !is_peer {
                self.deliver(admin, &frame, removals);
            }
        }
    }

    fn link(&mut self, a: &str, b: &str) {
        if a == b {
            return;
        }
        let (a_online, b_online) = (self.online.contains_key(a), self.online.contains_key(b));
        if !a_online && !b_online {
            // Both offline: nothing to tell, and either side's next connect
            // lists the new conversation.
            return;
        }
        self.set_edge(a, b, LINKED);
        if a_online && b_online {
            let mut removals = Vec::new();
            self.deliver(a, &status_frame(b, Presence::Online), &mut removals);
            self.deliver(b, &status_frame(a, Presence::Online), &mut removals);
            self.remove_sockets(removals);
        }
    }

    fn close_user(&mut self, user_id: &str, code: u16, reason: &str) {
        let Some(user) = self.online.remove(user_id) else {
            return;
        };
        info!(
            user_id,
            code,
            reason,
            sockets = user.sockets.len(),
            "closing every socket of a user"
        );
        for socket in user.sockets {
            socket.close(code, reason);
        }
        let mut removals = Vec::new();
        self.went_offline(user_id, &mut removals);
        self.remove_sockets(removals);
    }

    /// Bookkeeping once `user_id`'s last socket is gone (his entry in
    /// `online` already removed).
    fn went_offline(&mut self, user_id: &str, removals: &mut Vec<Removal>) {
        self.admins.remove(user_id);
        self.broadcast_presence(user_id, Presence::Offline, removals);
        self.forget_offline_contacts(user_id);
        debug!(user_id, "user offline");
    }

    /// Removes sockets, closing overflowed ones; removals can cascade (an
    /// offline broadcast may overflow another queue), so this runs until
    /// none is left. It ends: each round removes a socket.
    fn remove_sockets(&mut self, mut removals: Vec<Removal>) {
        while let Some(Removal {
            user_id,
            conn_id,
            leave,
        }) = removals.pop()
        {
            let Some(user) = self.online.get_mut(&user_id) else {
                continue;
            };
            let Some(index) = user.sockets.iter().position(|s| s.id == conn_id) else {
                continue;
            };
            let socket = user.sockets.swap_remove(index);
            let last = user.sockets.is_empty();
            match leave {
                Leave::Overflowed => {
                    warn!(user_id = %user_id, conn_id, "socket queue overflowed; closing it");
                    socket.close(CLOSE_POLICY, OVERFLOW_REASON);
                }
                Leave::Abandoned => debug!(user_id = %user_id, conn_id, "socket abandoned"),
                Leave::Disconnected => debug!(user_id = %user_id, conn_id, "socket disconnected"),
            }
            if last {
                self.online.remove(&user_id);
                self.went_offline(&user_id, &mut removals);
            }
        }
    }

    /// Removes sockets whose task dropped its `Connection` without calling
    /// `disconnect` (a panic, a forgotten path), so nobody stays online
    /// forever.
    fn sweep(&mut self) {
        let removals: Vec<Removal> = self
            .online
            .iter()
            .flat_map(|(user_id, user)| {
                user.sockets
                    .iter()
                    .filter(|s| s.tx.is_closed())
                    .map(move |s| Removal {
                        user_id: user_id.clone(),
                        conn_id: s.id,
                        leave: Leave::Abandoned,
                    })
            })
            .collect();
        self.remove_sockets(removals);
    }

    fn shutdown(&mut self) {
        let sockets: usize = self.online.values().map(|u| u.sockets.len()).sum();
        info!(sockets, "real-time hub shutting down");
        for (_, user) in self.online.drain() {
            for socket in user.sockets {
                socket.close(CLOSE_GOING_AWAY, SHUTDOWN_REASON);
            }
        }
        self.admins.clear();
        self.contacts.clear();
    }
}

#[cfg(test)]
mod tests;
