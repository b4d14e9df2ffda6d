//! The seam between handlers and event delivery.

use std::sync::Arc;

use crate::hub::HubHandle;
use crate::Audience;

/// Delivers events to the sockets of an audience, wherever they are.
///
/// HTTP handlers publish through this trait (as `Arc<dyn Broker>` or a
/// generic) instead of calling the hub directly. Today the only
/// implementation is [`HubHandle`], the in-process hub: every socket lives in
/// this process. To run several server nodes, a broker that relays these
/// calls over a shared bus (Redis pub/sub, NATS, Postgres
/// `LISTEN/NOTIFY`) to every node's local hub can implement it, without
/// touching a handler. Presence across nodes would then also need a shared
/// registry, which is why presence queries stay on [`HubHandle`].
///
/// All calls are fire-and-forget: they never block and never fail
/// from the caller's point of view (delivery is best effort; clients catch
/// up over HTTP after a reconnect).
pub trait Broker: Send + Sync + 'static {
    /// Queues `frame` once on every socket of `audience`.
    fn publish(&self, audience: Audience, frame: Arc<str>);
    /// Makes `a` and `b` contacts (a conversation now joins them), and tells
    /// each, if both are online, that the other is online.
    fn link(&self, a: &str, b: &str);
    /// Replaces `user_id`'s contacts with exactly `contacts` (after he
    /// joined or left a group): presence stops flowing across relations
    /// that ended, and starts across new ones.
    fn set_contacts(&self, user_id: &str, contacts: Vec<String>);
    /// Queues `frame` on one socket of `user_id` (a call's signalling goes
    /// to the socket in the call, not to every tab).
    fn send_to_socket(&self, user_id: &str, conn_id: u64, frame: Arc<str>);
    /// Closes every socket of `user_id` with `code` and `reason` (4403 when
    /// an admin disables the user) and marks him offline.
    fn close_user(&self, user_id: &str, code: u16, reason: &str);
}

impl Broker for HubHandle {
    fn publish(&self, audience: Audience, frame: Arc<str>) {
        HubHandle::publish(self, audience, frame);
    }

    fn link(&self, a: &str, b: &str) {
        HubHandle::link(self, a, b);
    }

    fn set_contacts(&self, user_id: &str, contacts: Vec<String>) {
        HubHandle::set_contacts(self, user_id, contacts);
    }

    fn send_to_socket(&self, user_id: &str, conn_id: u64, frame: Arc<str>) {
        HubHandle::send_to(self, user_id, conn_id, frame);
    }

    fn close_user(&self, user_id: &str, code: u16, reason: &str) {
        HubHandle::close_user(self, user_id, code, reason);
    }
}
