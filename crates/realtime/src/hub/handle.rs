//! The hub's handle: the commands it sends and the answers it returns.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::Connection;
use crate::Audience;

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
    /// Frames queued on sockets since start.
    pub deliveries: u64,
    /// Sockets closed because their queue overflowed, since start.
    pub overflows: u64,
}

/// A request to the hub task.
#[derive(Debug)]
pub(super) enum Command {
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
    SetContacts {
        user_id: String,
        contacts: Vec<String>,
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
    RemotePresence {
        node: String,
        user_id: String,
        online: bool,
    },
    RemoteNode {
        node: String,
        users: HashSet<String>,
    },
    LocalUsers {
        reply: oneshot::Sender<Vec<(String, usize)>>,
    },
    /// Closes every socket, answers, and ends the hub task.
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
/// (`publish`, `send_to`, `link`, `close_user`, `disconnect`) are made from
/// synchronous code (request handlers, drop paths) that must neither block
/// nor wait, and dropping one instead would lose an event or leave a user
/// shown online forever. The channel cannot grow without bound in practice:
/// the hub does a small, non-blocking amount of work per command (it never
/// awaits a socket), so it drains commands far faster than requests can
/// produce them; the per-socket queues are the bounded part that absorbs
/// slow clients.
#[derive(Debug, Clone)]
pub struct HubHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl HubHandle {
    /// A handle sending to the hub task that reads `commands`.
    pub(super) fn new(commands: mpsc::UnboundedSender<Command>) -> Self {
        Self { commands }
    }

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
    ///
    /// [`OVERFLOW_REASON`]: super::OVERFLOW_REASON
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

    /// Replaces `user_id`'s contacts with exactly `contacts` (as the
    /// database has them after a membership change): a relation that ended
    /// carries no more presence either way; a new one between two online
    /// users tells each that the other is online.
    pub fn set_contacts(&self, user_id: &str, contacts: Vec<String>) {
        self.tell(Command::SetContacts {
            user_id: user_id.to_owned(),
            contacts,
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

    /// Another node of the cluster, `node`, now holds a socket of
    /// `user_id` (`online`) or no longer holds any. Presence changes
    /// that follow are sent to this node's sockets.
    pub fn remote_presence(&self, node: &str, user_id: &str, online: bool) {
        self.tell(Command::RemotePresence {
            node: node.to_owned(),
            user_id: user_id.to_owned(),
            online,
        });
    }

    /// Another node of the cluster, `node`, holds sockets of exactly
    /// `users` (its listing on a heartbeat; empty when the node is gone).
    pub fn remote_node(&self, node: &str, users: HashSet<String>) {
        self.tell(Command::RemoteNode {
            node: node.to_owned(),
            users,
        });
    }

    /// The users with sockets on this node and how many each holds.
    ///
    /// # Errors
    /// [`HubError::Stopped`] when the hub has shut down.
    pub async fn local_users(&self) -> Result<Vec<(String, usize)>, HubError> {
        self.ask(|reply| Command::LocalUsers { reply }).await
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
    pub(super) async fn sweep(&self) -> Result<(), HubError> {
        self.ask(|done| Command::Sweep { done }).await
    }
}
