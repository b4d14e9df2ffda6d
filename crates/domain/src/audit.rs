//! The audit log's vocabulary: who acted (an administrator or an API key)
//! and what they did.

use crate::error::DomainError;

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// An administrator (or, with no actor id, the command line).
    Admin,
    /// An API key.
    Key,
}

impl ActorKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Admin => "admin",
            ActorKind::Key => "key",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "admin" => Ok(ActorKind::Admin),
            "key" => Ok(ActorKind::Key),
            other => Err(DomainError::Validation(format!(
                "unknown actor kind `{other}`: expected admin or key"
            ))),
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A user was created.
    UserCreate,
    /// A user's fields were changed (status included).
    UserUpdate,
    /// A user was disabled.
    UserDisable,
    /// An order was created or replaced.
    OrderUpsert,
    /// An API key was made.
    KeyCreate,
    /// An API key was revoked.
    KeyRevoke,
    /// A key minted a chat session.
    SessionCreate,
    /// A key read a page of a conversation's messages.
    MessagesRead,
}

impl AuditAction {
    /// Every action, in display order.
    pub const ALL: [AuditAction; 8] = [
        AuditAction::UserCreate,
        AuditAction::UserUpdate,
        AuditAction::UserDisable,
        AuditAction::OrderUpsert,
        AuditAction::KeyCreate,
        AuditAction::KeyRevoke,
        AuditAction::SessionCreate,
        AuditAction::MessagesRead,
    ];

    /// The stored and wire name (`user.create`…).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserCreate => "user.create",
            AuditAction::UserUpdate => "user.update",
            AuditAction::UserDisable => "user.disable",
            AuditAction::OrderUpsert => "order.upsert",
            AuditAction::KeyCreate => "api_key.create",
            AuditAction::KeyRevoke => "api_key.revoke",
            AuditAction::SessionCreate => "session.create",
            AuditAction::MessagesRead => "messages.read",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        AuditAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| DomainError::Validation(format!("unknown audit action `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()).unwrap(), a);
        }
        assert!(AuditAction::parse("user.delete").is_err());
        for k in [ActorKind::Admin, ActorKind::Key] {
            assert_eq!(ActorKind::parse(k.as_str()).unwrap(), k);
        }
        assert!(ActorKind::parse("system").is_err());
    }
}
