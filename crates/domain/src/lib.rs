//! Domain types and rules of livechat.
//!
//! This crate has no I/O: it names the roles, decides who may talk to whom,
//! which side of a conversation a user is on, what a valid message is, how
//! unread counts move, and who receives each real-time event. The store, the
//! hub and the HTTP layer all ask it rather than deciding for themselves.
//! The clock comes in as an argument wherever a rule needs it (except
//! [`now_ms`], the one convenience that reads it).
//!
//! # For integrators
//!
//! A marketplace's server can link this crate to speak livechat's rules
//! without copying them:
//!
//! - [`signed_links`] signs the chat links (and the widget's `data-*`
//!   attributes) that open a buyer's session in `signed` identity mode;
//! - [`messages::SendRequest::parse`] checks a `POST /api/messages/` body the
//!   way the server will, so a bad send is caught before it travels;
//! - [`users::NewUser`], [`orders::OrderFields`] and [`Role`] describe what
//!   the integration routes accept;
//! - [`calls::Call`], [`groups::SystemEvent`] and [`messages::MessageType`]
//!   are the shapes found in webhook payloads and message lists.
//!
//! `examples/signed_link.rs` walks through signing a link, validating a
//! send and checking a webhook signature; run it with
//! `cargo run -p livechat-domain --example signed_link`.
//!
//! ```
//! use livechat_domain::signed_links::SignedLink;
//!
//! let expires = 1_700_000_600; // unix seconds: now plus a few minutes
//! let link = SignedLink::new("the shared secret", "b1", expires);
//! let url = link.chat_url("https://chat.example.com", Some("m1"));
//! assert!(url.starts_with("https://chat.example.com/chat?user_id=b1&expires=1700000600&signature="));
//! ```
//!
//! # Features
//!
//! - `openapi`: derives `utoipa::ToSchema` on the request types (the HTTP
//!   layer turns it on to describe them in `/openapi.json`).

pub mod api_keys;
pub mod audit;
pub mod calls;
pub mod conversations;
pub mod error;
pub mod events;
pub mod groups;
pub mod ids;
pub mod integers;
pub mod messages;
pub mod orders;
pub mod paging;
pub mod quick_replies;
pub mod signed_links;
pub mod text;
pub mod uploads;
pub mod users;
pub mod webhooks;

pub use conversations::{ConversationKind, ParticipantRole, Side, Sides};
pub use error::DomainError;
pub use events::Audience;
pub use ids::{ConversationId, MessageId};
pub use messages::MessageType;
pub use orders::OrderStatus;
pub use uploads::UploadKind;
pub use users::{Role, UserStatus};

/// Current time as unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
