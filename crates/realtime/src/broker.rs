//! The seam between handlers and event delivery.

use std::sync::Arc;

use crate::hub::HubHandle;
use crate::Audience;

/// Delivers events to the sockets of an audience, wherever they are.
///
/// HTTP handlers publish through this trait (as `Arc<dyn Broker>`) instead
/// of calling the hub directly. Two implementations exist: [`HubHandle`],
/// the in-process hub of a node alone, and [`Cluster`], which applies each
/// call to the local hub and relays it over Redis to every other node's hub.
/// Presence queries stay on [`HubHandle`]: in a cluster its answers already
/// count the other nodes' users.
///
/// [`Cluster`]: crate::cluster::Cluster
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
    /// Tells the other nodes that `user_id` changed (an admin disabled or
    /// edited him), so that they drop cached copies. The caller drops its
    /// own node's copy itself. Nothing to do for a node alone.
    fn user_changed(&self, _user_id: &str) {}
    /// Whether event delivery works (`/ready`): always for a node alone;
    /// for a cluster, while Redis answers.
    fn is_ready(&self) -> bool {
        true
    }
    /// How late, in seconds, events from other nodes arrive (0 alone).
    fn lag_seconds(&self) -> f64 {
        0.0
    }
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
