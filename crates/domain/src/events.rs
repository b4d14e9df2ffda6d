//! Real-time events and who receives them.

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
            users: member_ids
                .iter()
                .filter(|m| *m != typist)
                .cloned()
                .collect(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn events_reach_every_member_and_the_admins() {
        let all = Audience::members(ids(&["b1", "m1", "p1"]));
        assert_eq!(all.users, ids(&["b1", "m1", "p1"]));
        assert!(all.admins);
        assert_eq!(
            Audience::members(ids(&["b1", "m1"])).users,
            ids(&["b1", "m1"])
        );
    }

    #[test]
    fn typing_reaches_only_the_other_members() {
        let pair = ids(&["b1", "m1"]);
        let a = Audience::typing_among(&pair, "b1").unwrap();
        assert_eq!(a.users, ids(&["m1"]));
        assert!(!a.admins);
        let group = ids(&["b1", "m1", "p1"]);
        let a = Audience::typing_among(&group, "m1").unwrap();
        assert_eq!(a.users, ids(&["b1", "p1"]));
        assert_eq!(Audience::typing_among(&group, "b2"), None);
    }
}
