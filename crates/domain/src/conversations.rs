//! Conversations: which pairs may talk, and which side each user is on.

use crate::error::DomainError;
use crate::users::Role;

/// The two participants of a conversation.
///
/// The *customer* side asks (a buyer, or a merchant asking the platform); the
/// *agent* side answers (a merchant answering a buyer, or platform support).
/// The wire keeps the seed's name `merchant_id` for the agent side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sides {
    /// The asking side.
    pub customer_id: String,
    /// The answering side (merchant or platform).
    pub agent_id: String,
}

/// One side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The asking side.
    Customer,
    /// The answering side.
    Agent,
}

impl Sides {
    /// Decides the sides for two users, whichever of them opens the
    /// conversation. Fails when the pair may not talk: admins, the same user,
    /// or two users of the same role.
    pub fn for_pair(
        a_id: &str,
        a_role: Role,
        b_id: &str,
        b_role: Role,
    ) -> Result<Self, DomainError> {
        if a_id == b_id {
            return Err(DomainError::Validation(
                "cannot open a conversation with yourself".into(),
            ));
        }
        let (customer, agent) = match (a_role, b_role) {
            (Role::Buyer, Role::Merchant) | (Role::Buyer, Role::Platform) => (a_id, b_id),
            (Role::Merchant, Role::Buyer) | (Role::Platform, Role::Buyer) => (b_id, a_id),
            (Role::Merchant, Role::Platform) => (a_id, b_id),
            (Role::Platform, Role::Merchant) => (b_id, a_id),
            (Role::Admin, _) => {
                return Err(DomainError::Forbidden(
                    "administrators monitor conversations and cannot open one".into(),
                ))
            }
            (_, Role::Admin) => {
                return Err(DomainError::Forbidden(
                    "administrators cannot be contacted".into(),
                ))
            }
            (a, b) => {
                return Err(DomainError::Forbidden(format!(
                    "a {a} cannot open a conversation with a {b}"
                )))
            }
        };
        Ok(Sides {
            customer_id: customer.to_string(),
            agent_id: agent.to_string(),
        })
    }

    /// The side `user_id` is on, if any.
    pub fn side_of(&self, user_id: &str) -> Option<Side> {
        if self.customer_id == user_id {
            Some(Side::Customer)
        } else if self.agent_id == user_id {
            Some(Side::Agent)
        } else {
            None
        }
    }

    /// The other participant of `user_id`, if he is one.
    pub fn other(&self, user_id: &str) -> Option<&str> {
        match self.side_of(user_id)? {
            Side::Customer => Some(&self.agent_id),
            Side::Agent => Some(&self.customer_id),
        }
    }

    /// Whether `user_id` takes part.
    pub fn includes(&self, user_id: &str) -> bool {
        self.side_of(user_id).is_some()
    }
}

/// Whether a conversation has two sides or members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationKind {
    /// Two people, a customer side and an agent side.
    Direct,
    /// Three to fifty members (a group, or a mediation).
    Group,
}

impl ConversationKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "direct" => Ok(ConversationKind::Direct),
            "group" => Ok(ConversationKind::Group),
            other => Err(DomainError::Validation(format!(
                "unknown kind `{other}`: expected direct or group"
            ))),
        }
    }
}

/// A participant's place in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParticipantRole {
    /// The asking side of a direct conversation.
    Customer,
    /// The answering side of a direct conversation.
    Agent,
    /// A member of a group.
    Member,
}

impl ParticipantRole {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Customer => "customer",
            ParticipantRole::Agent => "agent",
            ParticipantRole::Member => "member",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "customer" => Ok(ParticipantRole::Customer),
            "agent" => Ok(ParticipantRole::Agent),
            "member" => Ok(ParticipantRole::Member),
            other => Err(DomainError::Validation(format!(
                "unknown participant role `{other}`: expected customer, agent or member"
            ))),
        }
    }
}

impl From<Side> for ParticipantRole {
    fn from(side: Side) -> Self {
        match side {
            Side::Customer => ParticipantRole::Customer,
            Side::Agent => ParticipantRole::Agent,
        }
    }
}

/// The read mark after a user reads up to `requested` (the newest message
/// when `None`): it moves forward only and never past the newest message.
pub fn next_read_mark(current: i64, requested: Option<i64>, newest: i64) -> i64 {
    let target = requested.unwrap_or(newest).min(newest);
    current.max(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table_decides_sides_whoever_opens() {
        let s = Sides::for_pair("b1", Role::Buyer, "m1", Role::Merchant).unwrap();
        assert_eq!((s.customer_id.as_str(), s.agent_id.as_str()), ("b1", "m1"));
        let s = Sides::for_pair("m1", Role::Merchant, "b1", Role::Buyer).unwrap();
        assert_eq!((s.customer_id.as_str(), s.agent_id.as_str()), ("b1", "m1"));
        let s = Sides::for_pair("b1", Role::Buyer, "p1", Role::Platform).unwrap();
        assert_eq!((s.customer_id.as_str(), s.agent_id.as_str()), ("b1", "p1"));
        let s = Sides::for_pair("p1", Role::Platform, "m2", Role::Merchant).unwrap();
        assert_eq!((s.customer_id.as_str(), s.agent_id.as_str()), ("m2", "p1"));
        let s = Sides::for_pair("m2", Role::Merchant, "p1", Role::Platform).unwrap();
        assert_eq!((s.customer_id.as_str(), s.agent_id.as_str()), ("m2", "p1"));
    }

    #[test]
    fn forbidden_pairs() {
        for (a, ra, b, rb) in [
            ("b1", Role::Buyer, "b2", Role::Buyer),
            ("m1", Role::Merchant, "m2", Role::Merchant),
            ("p1", Role::Platform, "p2", Role::Platform),
            ("a1", Role::Admin, "b1", Role::Buyer),
            ("b1", Role::Buyer, "a1", Role::Admin),
        ] {
            assert!(
                matches!(
                    Sides::for_pair(a, ra, b, rb),
                    Err(DomainError::Forbidden(_))
                ),
                "{a} -> {b}"
            );
        }
        assert!(matches!(
            Sides::for_pair("m1", Role::Merchant, "m1", Role::Merchant),
            Err(DomainError::Validation(_))
        ));
    }

    #[test]
    fn sides_answer_membership() {
        let s = Sides::for_pair("b1", Role::Buyer, "m1", Role::Merchant).unwrap();
        assert_eq!(s.side_of("b1"), Some(Side::Customer));
        assert_eq!(s.side_of("m1"), Some(Side::Agent));
        assert_eq!(s.side_of("b2"), None);
        assert_eq!(s.other("b1"), Some("m1"));
        assert!(!s.includes("a1"));
    }

    #[test]
    fn read_marks_only_move_forward_and_stop_at_the_newest() {
        assert_eq!(next_read_mark(0, None, 10), 10);
        assert_eq!(next_read_mark(5, Some(3), 10), 5);
        assert_eq!(next_read_mark(5, Some(8), 10), 8);
        assert_eq!(next_read_mark(5, Some(99), 10), 10);
        assert_eq!(next_read_mark(0, None, 0), 0);
    }
}
