//! The hub: one task that owns every socket, presence and contact set.
//!
//! # Shape
//!
//! [`spawn_hub`] starts the hub task and returns a [`HubHandle`]. The handle
//! is a cloneable sender of commands; the task serves them one at a time, so
//! its state (user → sockets index, contact relation, online admins) needs no
//! lock and every command sees the effects of the ones before it. Questions
//! (`connect`, `online_users`, `is_online`, `online_among`, `stats`,
//! `shutdown`) carry a oneshot for the answer; if the hub is gone the caller
//! gets [`HubError::Stopped`], never a panic.
//!
//! This file holds the hub task and its state; the handle and its commands
//! live in `handle.rs`, the two ends of a socket's queue in `connection.rs`,
//! the contact relation in `contacts.rs`.
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

mod connection;
mod contacts;
mod handle;
mod remote;

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

pub use connection::{Connection, Outbound};
pub use handle::{HubError, HubHandle, HubStats};
use remote::Remote;

use crate::frames::{online_users_frame, status_frame, Presence};
use crate::{Audience, ADMIN_QUEUE_CAPACITY, PING_INTERVAL, QUEUE_CAPACITY};
use connection::Socket;
use contacts::Contacts;
use handle::Command;

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
    /// The id of this hub's first socket. Socket ids must be unique across
    /// the nodes of a cluster (a call's signal names the socket it goes
    /// to), so each node starts from its own range.
    pub first_conn_id: u64,
}

/// How many sockets a user now holds on this node, told after each change
/// by a hub started with [`spawn_hub_reporting`] (0: his last one closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPresence {
    /// The user.
    pub user_id: String,
    /// His open sockets on this node.
    pub sockets: usize,
}

impl Default for HubConfig {
    /// A queue of [`QUEUE_CAPACITY`] (256) frames per socket, and of
    /// [`ADMIN_QUEUE_CAPACITY`] (4096) per admin socket.
    fn default() -> Self {
        Self {
            queue_capacity: QUEUE_CAPACITY,
            admin_queue_capacity: ADMIN_QUEUE_CAPACITY,
            first_conn_id: 1,
        }
    }
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
    tokio::spawn(Hub::new(config, None).run(inbox));
    HubHandle::new(commands)
}

/// Starts a hub that is one node of a cluster: it also reports every change
/// in its users' socket counts (for the other nodes), and takes the other
/// nodes' users into account for presence ([`HubHandle::remote_presence`],
/// [`HubHandle::remote_node`]).
///
/// # Panics
/// When called outside a tokio runtime.
pub fn spawn_hub_reporting(
    config: HubConfig,
) -> (HubHandle, mpsc::UnboundedReceiver<LocalPresence>) {
    let (commands, inbox) = mpsc::unbounded_channel();
    let (report, reports) = mpsc::unbounded_channel();
    tokio::spawn(Hub::new(config, Some(report)).run(inbox));
    (HubHandle::new(commands), reports)
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

impl Leave {
    /// Why a socket whose queue refused a frame must leave.
    fn refused<T>(error: &TrySendError<T>) -> Self {
        match error {
            TrySendError::Full(_) => Self::Overflowed,
            TrySendError::Closed(_) => Self::Abandoned,
        }
    }
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
    /// The contact relation. Only relations with at least one online side
    /// are kept.
    contacts: Contacts,
    /// Frames queued on sockets since start.
    deliveries: std::cell::Cell<u64>,
    /// Sockets closed because their queue overflowed, since start.
    overflows: u64,
    /// The users online on the other nodes of a cluster.
    remote: Remote,
    /// Where socket-count changes are reported, in a cluster.
    report: Option<mpsc::UnboundedSender<LocalPresence>>,
}

impl Hub {
    fn new(config: HubConfig, report: Option<mpsc::UnboundedSender<LocalPresence>>) -> Self {
        Self {
            queue_capacity: config.queue_capacity.max(1),
            admin_queue_capacity: config.admin_queue_capacity.max(1),
            next_conn_id: config.first_conn_id.max(1),
            online: HashMap::new(),
            admins: HashSet::new(),
            contacts: Contacts::default(),
            deliveries: std::cell::Cell::new(0),
            overflows: 0,
            remote: Remote::default(),
            report,
        }
    }

    /// Whether `user_id` has a socket on this node or on another.
    fn is_online(&self, user_id: &str) -> bool {
        self.online.contains_key(user_id) || self.remote.contains(user_id)
    }

    /// Tells the cluster how many sockets `user_id` holds here now.
    fn report(&self, user_id: &str) {
        if let Some(report) = &self.report {
            let sockets = self.online.get(user_id).map_or(0, |u| u.sockets.len());
            let _ = report.send(LocalPresence {
                user_id: user_id.to_owned(),
                sockets,
            });
        }
    }

    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Command>) {
        let mut sweep = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(command) => {
                        if self.handle(command).is_break() {
                            break;
                        }
                    }
                    None => {
                        debug!("every hub handle dropped; hub stopping");
                        break;
                    }
                },
                _ = sweep.tick() => self.sweep(),
            }
        }
    }

    /// Serves one command; `Break` once the hub must stop.
    fn handle(&mut self, command: Command) -> ControlFlow<()> {
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
            Command::SetContacts { user_id, contacts } => self.set_contacts(&user_id, contacts),
            Command::CloseUser {
                user_id,
                code,
                reason,
            } => self.close_user(&user_id, code, &reason),
            Command::OnlineUsers { reply } => {
                let mut users: Vec<String> = self
                    .online
                    .keys()
                    .map(String::as_str)
                    .chain(
                        self.remote
                            .users()
                            .filter(|u| !self.online.contains_key(*u)),
                    )
                    .map(str::to_owned)
                    .collect();
                users.sort_unstable();
                let _ = reply.send(users);
            }
            Command::IsOnline { user_id, reply } => {
                let _ = reply.send(self.is_online(&user_id));
            }
            Command::OnlineAmong {
                mut user_ids,
                reply,
            } => {
                let mut seen = HashSet::new();
                user_ids.retain(|id| self.is_online(id) && seen.insert(id.clone()));
                let _ = reply.send(user_ids);
            }
            Command::RemotePresence {
                node,
                user_id,
                online,
            } => self.remote_presence(&node, &user_id, online),
            Command::RemoteNode { node, users } => self.remote_node(&node, users),
            Command::LocalUsers { reply } => {
                let users = self
                    .online
                    .iter()
                    .map(|(id, u)| (id.clone(), u.sockets.len()))
                    .collect();
                let _ = reply.send(users);
            }
            Command::Stats { reply } => {
                let _ = reply.send(HubStats {
                    sockets: self.online.values().map(|u| u.sockets.len()).sum(),
                    users_online: self.online.len(),
                    deliveries: self.deliveries.get(),
                    overflows: self.overflows,
                });
            }
            Command::Shutdown { done } => {
                self.shutdown();
                let _ = done.send(());
                return ControlFlow::Break(());
            }
            #[cfg(test)]
            Command::Sweep { done } => {
                self.sweep();
                let _ = done.send(());
            }
        }
        ControlFlow::Continue(())
    }

    fn connect(&mut self, user_id: String, is_admin: bool, contacts: Vec<String>) -> Connection {
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        let capacity = if is_admin {
            self.admin_queue_capacity
        } else {
            self.queue_capacity
        };
        let (socket, conn) = connection::open(id, capacity);

        self.contacts.set_listed(&user_id, contacts);
        let listing = self.online_listing(&user_id, is_admin);
        // A fresh queue has room: this cannot fail.
        let _ = socket.try_send(&listing);

        let first = !self.is_online(&user_id);
        self.online
            .entry(user_id.clone())
            .or_insert_with(|| OnlineUser {
                sockets: Vec::with_capacity(1),
            })
            .sockets
            .push(socket);
        if is_admin {
            self.admins.insert(user_id.clone());
        } else {
            self.admins.remove(&user_id);
        }
        debug!(user_id = %user_id, conn_id = id, first, "socket registered");
        self.report(&user_id);
        if first {
            let mut removals = Vec::new();
            self.broadcast_presence(&user_id, Presence::Online, &mut removals);
            self.remove_sockets(removals);
        }
        conn
    }

    /// The `online_users` frame for a new socket of `user_id`.
    fn online_listing(&self, user_id: &str, is_admin: bool) -> Arc<str> {
        let mut users: Vec<&str> = if is_admin {
            self.online
                .keys()
                .map(String::as_str)
                .chain(
                    self.remote
                        .users()
                        .filter(|u| !self.online.contains_key(*u)),
                )
                .filter(|u| *u != user_id)
                .collect()
        } else {
            self.contacts
                .peers(user_id)
                .filter(|p| self.is_online(p))
                .collect()
        };
        users.sort_unstable();
        online_users_frame(&users)
    }

    /// Queues `frame` on every socket of `user_id` (if online). Full or
    /// abandoned queues are noted in `removals`, to be removed once the
    /// caller's iteration is over.
    fn deliver(&self, user_id: &str, frame: &Arc<str>, removals: &mut Vec<Removal>) {
        let Some(user) = self.online.get(user_id) else {
            return;
        };
        for socket in &user.sockets {
            match socket.try_send(frame) {
                Ok(()) => self.deliveries.set(self.deliveries.get() + 1),
                Err(error) => removals.push(Removal {
                    user_id: user_id.to_owned(),
                    conn_id: socket.id,
                    leave: Leave::refused(&error),
                }),
            }
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
        if let Err(error) = socket.try_send(frame) {
            let leave = Leave::refused(&error);
            self.remove_sockets(vec![Removal {
                user_id: user_id.to_owned(),
                conn_id,
                leave,
            }]);
        }
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
        for peer in self.contacts.peers(user_id) {
            self.deliver(peer, &frame, removals);
        }
        for admin in &self.admins {
            if admin != user_id && !self.contacts.are_contacts(user_id, admin) {
                self.deliver(admin, &frame, removals);
            }
        }
    }

    fn link(&mut self, a: &str, b: &str) {
        if a == b {
            return;
        }
        if !self.online.contains_key(a) && !self.online.contains_key(b) {
            // Neither has a socket here: nothing to tell on this node, and
            // either side's next connect lists the new conversation.
            return;
        }
        self.contacts.link(a, b);
        if self.is_online(a) && self.is_online(b) {
            let mut removals = Vec::new();
            self.deliver(a, &status_frame(b, Presence::Online), &mut removals);
            self.deliver(b, &status_frame(a, Presence::Online), &mut removals);
            self.remove_sockets(removals);
        }
    }

    fn set_contacts(&mut self, user_id: &str, contacts: Vec<String>) {
        let before: HashSet<String> = self.contacts.peers(user_id).map(str::to_owned).collect();
        self.contacts.reset(user_id, contacts);
        let new: Vec<String> = if self.is_online(user_id) {
            self.contacts
                .peers(user_id)
                .filter(|p| !before.contains(*p) && self.is_online(p))
                .map(str::to_owned)
                .collect()
        } else {
            Vec::new()
        };
        if !self.online.contains_key(user_id) {
            // Relations with nobody on this node are not kept here.
            let online = &self.online;
            self.contacts
                .forget_offline(user_id, |peer| online.contains_key(peer));
        }
        let mut removals = Vec::new();
        for peer in new {
            self.deliver(
                user_id,
                &status_frame(&peer, Presence::Online),
                &mut removals,
            );
            self.deliver(
                &peer,
                &status_frame(user_id, Presence::Online),
                &mut removals,
            );
        }
        self.remove_sockets(removals);
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
        self.report(user_id);
        if !self.remote.contains(user_id) {
            self.broadcast_presence(user_id, Presence::Offline, removals);
        }
        let online = &self.online;
        self.contacts
            .forget_offline(user_id, |peer| online.contains_key(peer));
        debug!(user_id, "user offline");
    }

    /// Another node now holds (or no longer holds) a socket of `user_id`.
    fn remote_presence(&mut self, node: &str, user_id: &str, online: bool) {
        let here = self.online.contains_key(user_id);
        let changed = if online {
            self.remote.add(node, user_id)
        } else {
            self.remote.remove(node, user_id)
        };
        if changed && !here {
            let presence = if online {
                Presence::Online
            } else {
                Presence::Offline
            };
            self.presence_changed_elsewhere(user_id, presence);
        }
    }

    /// `node` holds exactly `users` now (none: it is gone).
    fn remote_node(&mut self, node: &str, users: HashSet<String>) {
        let changed = self.remote.replace(node, users);
        for user_id in changed.came {
            if !self.online.contains_key(&user_id) {
                self.presence_changed_elsewhere(&user_id, Presence::Online);
            }
        }
        for user_id in changed.went {
            if !self.online.contains_key(&user_id) {
                self.presence_changed_elsewhere(&user_id, Presence::Offline);
            }
        }
    }

    /// A user without sockets here came online or went offline on the
    /// cluster: this node's contacts and admins are told.
    fn presence_changed_elsewhere(&mut self, user_id: &str, presence: Presence) {
        let mut removals = Vec::new();
        self.broadcast_presence(user_id, presence, &mut removals);
        if presence == Presence::Offline {
            let online = &self.online;
            self.contacts
                .forget_offline(user_id, |peer| online.contains_key(peer));
        }
        self.remove_sockets(removals);
    }

    /// Removes sockets, closing overflowed ones; removals can cascade (an
    /// offline broadcast may overflow another queue), so this runs until
    /// none is left. It ends: new removals are only queued when a user's
    /// last socket has just been removed, and each socket is removed once.
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
                    self.overflows += 1;
                    warn!(user_id = %user_id, conn_id, "socket queue overflowed; closing it");
                    socket.close(CLOSE_POLICY, OVERFLOW_REASON);
                }
                Leave::Abandoned => debug!(user_id = %user_id, conn_id, "socket abandoned"),
                Leave::Disconnected => debug!(user_id = %user_id, conn_id, "socket disconnected"),
            }
            if last {
                self.online.remove(&user_id);
                self.went_offline(&user_id, &mut removals);
            } else {
                self.report(&user_id);
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
                    .filter(|s| s.is_abandoned())
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
        self.remote.clear();
    }
}

#[cfg(test)]
mod tests;
