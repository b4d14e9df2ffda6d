//! Domain types and rules of livechat.
//!
//! This crate has no I/O: it names the roles, decides who may talk to whom,
//! which side of a conversation a user is on, what a valid message is, how
//! unread counts move, and who receives each real-time event. The store, the
//! hub and the HTTP layer all ask it rather than deciding for themselves.

pub mod calls;
pub mod conversations;
pub mod error;
pub mod events;
pub mod groups;
pub mod ids;
pub mod messages;
pub mod orders;
pub mod paging;
pub mod quick_replies;
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
