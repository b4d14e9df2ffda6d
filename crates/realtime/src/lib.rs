//! The real-time side of livechat: the hub that owns every live socket.
//!
//! One task (the *hub*, started with [`spawn_hub`]) owns all real-time state:
//! which sockets each user has open, who is whose contact, which online users
//! are admins. Everything else talks to it through a cloneable [`HubHandle`]
//! that sends commands over a channel, so there are no locks and no shared
//! mutable state. Each socket gets its own bounded queue ([`Connection`]);
//! the hub never waits on a socket: a socket whose queue is full is closed
//! (1008) instead of letting memory grow.
//!
//! The crate knows nothing of actix, HTTP or the database. The HTTP layer
//! authenticates the upgrade, loads the user's contacts, calls
//! [`HubHandle::connect`], and runs one task per socket that writes what
//! [`Connection::recv`] yields, pings every [`PING_INTERVAL`], closes after
//! [`IDLE_TIMEOUT`] of silence, rejects frames over [`MAX_FRAME_BYTES`],
//! feeds typing frames through a [`TypingLimiter`], and calls
//! [`HubHandle::disconnect`] when it ends. Handlers publish events through
//! the [`Broker`] trait, the seam where a multi-node broker can later plug in.
//!
//! Wire formats are in `docs/realtime.md`; [`frames`] builds the server's
//! frames and parses the client's.
//!
//! ```
//! use livechat_domain::ConversationId;
//! use livechat_realtime::{spawn_hub, typing_frame, Audience, HubConfig, Outbound};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), livechat_realtime::HubError> {
//! let hub = spawn_hub(HubConfig::default());
//! // b1 opens a tab; m1 is one of his contacts.
//! let mut conn = hub.connect("b1".into(), false, vec!["m1".into()]).await?;
//! hub.publish(Audience::user("b1"), typing_frame(ConversationId(7), "m1", true));
//!
//! // A socket task writes each frame, and closes on `Close`.
//! let mut written = Vec::new();
//! while let Some(item) = conn.recv().await {
//!     match item {
//!         Outbound::Frame(text) => written.push(text),
//!         Outbound::Close { code, reason } => { /* send the close frame */ break }
//!     }
//!     if written.len() == 2 {
//!         break; // (the example stops here; a real task runs until the socket ends)
//!     }
//! }
//! assert_eq!(&*written[0], r#"{"type":"online_users","users":[]}"#);
//! assert_eq!(&*written[1], r#"{"type":"typing","conversation_id":7,"user_id":"m1","is_typing":true}"#);
//! hub.disconnect("b1", conn.id);
//! hub.shutdown().await
//! # }
//! ```

pub mod broker;
pub mod cluster;
pub mod frames;
pub mod hub;
pub mod typing;

use std::time::Duration;

pub use broker::Broker;
pub use cluster::{Cluster, ClusterConfig, ClusterError, UserListener};
pub use frames::{
    error_frame, online_users_frame, read_frame, status_frame, typing_frame, ClientFrame, Presence,
    PONG_FRAME,
};
pub use hub::{
    spawn_hub, spawn_hub_reporting, Connection, HubConfig, HubError, HubHandle, HubStats,
    LocalPresence, Outbound, OVERFLOW_REASON, SHUTDOWN_REASON,
};
pub use livechat_domain::events::Audience;
pub use typing::{FrameBudget, TypingLimiter, TypingVerdict};

/// How often the server pings each socket (WebSocket ping frames). The hub
/// also uses it as the period of its sweep for sockets whose task vanished
/// without saying goodbye.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);

/// A socket that sends nothing (no frame, no pong) for this long is closed
/// with 1000.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest frame a client may send; a bigger one closes the socket with
/// 1008.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Default capacity of each socket's outbound queue, in frames.
pub const QUEUE_CAPACITY: usize = 256;

/// Outbound queue of an admin's socket: the monitor receives every message.
pub const ADMIN_QUEUE_CAPACITY: usize = 4096;
