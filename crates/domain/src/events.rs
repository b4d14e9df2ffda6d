//! Real-time events and who receives them.

use crate::conversations::Sides;

/// Who receives an event: these users' sockets, plus every online admin when
/// `admins` is true.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience {
    /// Users whose every socket receives the event.
    pub users: Vec<String>,
    /// Whether every online admin receives it too.
    pub admins: bool,
}

impl Audience {
    /// A message: both participants and every admin (the monitor).
    pub fn message(sides: &Sides) -> Self {
        Self::participants_and_admins(sides)
    }

    /// A read receipt: both participants and admins.
    pub fn read(sides: &Sides) -> Self {
        Self::participants_and_admins(sides)
    }

    /// A conversation update (preview, unread counts): both participants and admins.
    pub fn conversation(sides: &Sides) -> Self {
        Self::participants_and_admins(sides)
    }

    /// Typing: only the other participant; admins and the typist get nothing.
    /// `None` when `typist` is not in the conversation.
    pub fn typing(sides: &Sides, typist: &str) -> Option<Self> {
        sides.other(typist).map(|other| Self {
            users: vec![other.to_string()],
            admins: false,
        })
    }

    /// Something every member of a conversation sees, and the admins: a
    /// message, a read receipt, the conversation's new state.
    pub fn members(member_ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            users: member_ids.into_iter().collect(),
            admins: true,
        }
    }

    /// Typing in a conversation of these members: the others see it;
    /// admins and the typist do not. `None` when `typist` is no member.
    pub fn typing_among(member_ids: &[String], typist: &str) -> Option<Self> {
        member_ids.iter().any(|m| m == typist).then(|| Self {
            users: member_ids.iter().filter(|m| *m != typist).cloned().collect(),
            admins: false,
        })
    }

    /// Only this user's sockets.
    pub fn user(user_id: &str) -> Self {
        Self {
            users: vec![user_id.to_string()],
            admins: false,
        }
    }

    fn participants_and_admins(sides: &Sides) -> Self {
        Self {
            users: vec![sides.customer_id.clone(), sides.agent_id.clone()],
            admins: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides() -> Sides {
        Sides {
            customer_id: "b1".into(),
            agent_id: "m1".into(),
        }
    }

    #[test]
    fn messages_reach_both_sides_and_admins() {
        let a = Audience::message(&sides());
        assert_eq!(a.users, vec!["b1".to_string(), "m1".to_string()]);
        assert!(a.admins);
        assert_eq!(Audience::read(&sides()), a);
        assert_eq!(Audience::conversation(&sides()), a);
    }

    #[test]
    fn group_events_reach_every_member_and_typing_the_others() {
        let members: Vec<String> = ["b1", "m1", "p1"].iter().map(|s| s.to_string()).collect();
        let all = Audience::members(members.clone());
        assert_eq!(all.users, members);
        assert!(all.admins);
        let typing = Audience::typing_among(&members, "m1").unwrap();
        assert_eq!(typing.users, vec!["b1".to_string(), "p1".to_string()]);
        assert!(!typing.admins);
        assert_eq!(Audience::typing_among(&members, "b2"), None);
    }

    #[test]
    fn typing_reaches_only_the_other_side() {
        let a = Audience::typing(&sides(), "b1").unwrap();
        assert_eq!(a.users, vec!["m1".to_string()]);
        assert!(!a.admins);
        let a = Audience::typing(&sides(), "m1").unwrap();
        assert_eq!(a.users, vec!["b1".to_string()]);
        assert_eq!(Audience::typing(&sides(), "b2"), None);
    }
}
