//! What the nodes of a cluster tell each other over the bus: one Redis
//! pub/sub channel, JSON messages.

use serde::{Deserialize, Serialize};

/// One message on the bus: who sent it, when, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Envelope {
    /// The sending node's id (a node ignores its own messages: it applied
    /// them before sending).
    pub(super) node: String,
    /// Unix ms when it was sent (the receivers' broker lag).
    pub(super) at: i64,
    /// What happened.
    #[serde(flatten)]
    pub(super) event: BusEvent,
}

/// The events that cross nodes: every [`Broker`](crate::Broker) call, and
/// the cluster's own bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum BusEvent {
    /// [`Broker::publish`](crate::Broker::publish).
    Publish {
        users: Vec<String>,
        admins: bool,
        frame: String,
    },
    /// [`Broker::send_to_socket`](crate::Broker::send_to_socket), for a
    /// socket of another node.
    SendTo {
        user_id: String,
        conn_id: u64,
        frame: String,
    },
    /// [`Broker::link`](crate::Broker::link).
    Link { a: String, b: String },
    /// [`Broker::set_contacts`](crate::Broker::set_contacts).
    SetContacts {
        user_id: String,
        contacts: Vec<String>,
    },
    /// [`Broker::close_user`](crate::Broker::close_user).
    CloseUser {
        user_id: String,
        code: u16,
        reason: String,
    },
    /// The sender's node now holds a socket of `user_id` (`online`), or no
    /// longer holds any.
    Presence { user_id: String, online: bool },
    /// [`Broker::user_changed`](crate::Broker::user_changed): cached copies
    /// of the user must be dropped.
    UserChanged { user_id: String },
    /// The sending node is shutting down: its users are offline there.
    Leaving,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_in_a_flat_shape() {
        let envelope = Envelope {
            node: "3".into(),
            at: 1_700_000_000_000,
            event: BusEvent::Presence {
                user_id: "m1".into(),
                online: true,
            },
        };
        let text = serde_json::to_string(&envelope).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"node":"3","at":1700000000000,"kind":"presence","user_id":"m1","online":true}"#
        );
        let back: Envelope = serde_json::from_str(&text).unwrap_or_else(|_| Envelope {
            node: String::new(),
            at: 0,
            event: BusEvent::Leaving,
        });
        assert_eq!(back, envelope);
    }
}
