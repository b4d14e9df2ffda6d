//! Conversations of more than two people (群聊) and platform mediation
//! (平台介入): who may create, add, remove and mediate, and the system
//! messages that record each change.

use serde::{Deserialize, Serialize};

use crate::conversations::Sides;
use crate::error::DomainError;
use crate::users::Role;

/// Fewest members of a group, its creator included.
pub const MIN_GROUP_MEMBERS: usize = 3;
/// Most members of a group.
pub const MAX_GROUP_MEMBERS: usize = 50;
/// Longest group title, in characters as sent (surrounding spaces count).
pub const MAX_TITLE_CHARS: usize = 50;

/// Trims and checks a group title: 1 to 50 characters.
pub fn validate_title(title: &str) -> Result<String, DomainError> {
    crate::text::check_plain("title", title)?;
    // Every character sent counts, as in the document's `maxLength`.
    let len = title.chars().count();
    let title = title.trim();
    if !crate::text::has_visible(title) || len > MAX_TITLE_CHARS {
        return Err(DomainError::Validation(format!(
            "title must be 1 to {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(title.to_string())
}

/// A user as the group rules need him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The user's id (`b1`, `m1`, `p1`…).
    pub id: String,
    /// The stored role, which decides what the user may do in groups (the
    /// id's prefix is only a convention).
    pub role: Role,
    /// Whether the account is active: disabled users cannot be added.
    pub active: bool,
}

/// A group member as the rules need him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id.
    pub user_id: String,
    /// The member's role as a user.
    pub role: Role,
    /// When he joined (unix ms); ties broken by id.
    pub joined_at: i64,
}

/// Checks who may create a group with whom, before the members are looked
/// up: platform support and merchants create groups (buyers do not; admins
/// only watch); the others are named once each, without the creator; the
/// group has 3 to 50 members, the creator included.
pub fn check_new_group(creator: &Person, member_ids: &[String]) -> Result<(), DomainError> {
    match creator.role {
        Role::Platform | Role::Merchant => {}
        Role::Buyer => {
            return Err(DomainError::Forbidden(
                "buyers cannot create groups; ask a merchant or platform support".into(),
            ))
        }
        Role::Admin => {
            return Err(DomainError::Forbidden(
                "administrators monitor conversations and cannot create one".into(),
            ))
        }
    }
    if member_ids.contains(&creator.id) {
        return Err(DomainError::Validation(
            "member_ids names the others; you join the group yourself".into(),
        ));
    }
    let mut sorted: Vec<&String> = member_ids.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(DomainError::Validation(
            "member_ids names someone twice".into(),
        ));
    }
    let total = member_ids.len() + 1;
    if !(MIN_GROUP_MEMBERS..=MAX_GROUP_MEMBERS).contains(&total) {
        return Err(DomainError::Validation(format!(
            "a group has {MIN_GROUP_MEMBERS} to {MAX_GROUP_MEMBERS} members, you included; this one would have {total}"
        )));
    }
    Ok(())
}

/// Checks that `adder` may bring `candidate` (`None`: no such user) into a
/// group: the candidate must be an active chat user (422 otherwise);
/// platform support may add anyone such; a merchant may add platform
/// support and the users he already shares a direct conversation with
/// (`shares_direct`); nobody else adds anyone (403).
pub fn check_candidate(
    adder: &Person,
    candidate_id: &str,
    candidate: Option<&Person>,
    shares_direct: bool,
) -> Result<(), DomainError> {
    let candidate = candidate
        .filter(|c| c.active && c.role.is_chat())
        .ok_or_else(|| {
            DomainError::Validation(format!(
                "`{candidate_id}` is not an active buyer, merchant or platform user"
            ))
        })?;
    match adder.role {
        Role::Platform => Ok(()),
        Role::Merchant if candidate.role == Role::Platform || shares_direct => Ok(()),
        Role::Merchant => Err(DomainError::Forbidden(format!(
            "a merchant may add platform support and the people he already talks to; not `{}`",
            candidate.id
        ))),
        _ => Err(DomainError::Forbidden(
            "only merchants and platform support add members".into(),
        )),
    }
}

/// Who manages a group: its creator while he is a member, else the
/// earliest-joined merchant or platform member. Buyers never manage (a
/// buyer who asked for mediation created the group, but the sellers and
/// the platform run it).
pub fn manager<'a>(created_by: Option<&str>, members: &'a [Member]) -> Option<&'a str> {
    let seller = |m: &&Member| matches!(m.role, Role::Merchant | Role::Platform);
    if let Some(creator) = created_by {
        if let Some(m) = members.iter().filter(seller).find(|m| m.user_id == creator) {
            return Some(&m.user_id);
        }
    }
    members
        .iter()
        .filter(seller)
        .min_by(|a, b| (a.joined_at, &a.user_id).cmp(&(b.joined_at, &b.user_id)))
        .map(|m| m.user_id.as_str())
}

/// Whether `actor` may add and remove members: the manager, or any
/// platform-support member.
pub fn may_manage(actor: &Person, created_by: Option<&str>, members: &[Member]) -> bool {
    let is_member = members.iter().any(|m| m.user_id == actor.id);
    is_member && (actor.role == Role::Platform || manager(created_by, members) == Some(&actor.id))
}

/// Checks the one-more-member limit of a group that has `current` members.
pub fn check_room(current: usize) -> Result<(), DomainError> {
    if current >= MAX_GROUP_MEMBERS {
        return Err(DomainError::Validation(format!(
            "a group has at most {MAX_GROUP_MEMBERS} members"
        )));
    }
    Ok(())
}

/// Whether a membership ends by leaving or by removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// The member left by himself.
    Left,
    /// A manager removed him.
    Removed,
}

/// Checks that `actor` may take `target` out of the group: anyone may
/// leave; removing someone else takes a manager (403).
pub fn check_departure(
    actor: &Person,
    target_id: &str,
    created_by: Option<&str>,
    members: &[Member],
) -> Result<Departure, DomainError> {
    if actor.id == target_id {
        return Ok(Departure::Left);
    }
    if may_manage(actor, created_by, members) {
        Ok(Departure::Removed)
    } else {
        Err(DomainError::Forbidden(
            "only the group's manager or platform support remove members".into(),
        ))
    }
}

/// Checks a request for mediation of a direct conversation: only its buyer
/// or its merchant asks, and only in a buyer–merchant conversation (one
/// with platform support has the platform already).
pub fn check_mediation(
    sides: &Sides,
    customer_role: Role,
    agent_role: Role,
    requester_id: &str,
) -> Result<(), DomainError> {
    if customer_role != Role::Buyer || agent_role != Role::Merchant {
        return Err(DomainError::Forbidden(
            "mediation is for a conversation between a buyer and a merchant".into(),
        ));
    }
    if !sides.includes(requester_id) {
        return Err(DomainError::Forbidden(
            "only the buyer or the merchant asks for mediation".into(),
        ));
    }
    Ok(())
}

/// The title of the group that mediates between these two, within the
/// title limit.
pub fn mediation_title(buyer_name: &str, merchant_name: &str) -> String {
    let title = format!("平台介入：{buyer_name} 与 {merchant_name}");
    title.chars().take(MAX_TITLE_CHARS).collect()
}

/// What a system message records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SystemEventKind {
    /// The group was created.
    Created,
    /// Someone was added.
    MemberAdded,
    /// Someone was removed.
    MemberRemoved,
    /// Someone left.
    MemberLeft,
    /// A buyer or merchant asked the platform in.
    MediationStarted,
}

/// A membership change, as a `system` message carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemEvent {
    /// What happened.
    pub event: SystemEventKind,
    /// Who did it (also the message's sender).
    pub actor_id: String,
    /// Whom it concerns (the added, removed or leaving member); null for
    /// creation.
    pub user_id: Option<String>,
}

impl SystemEvent {
    /// The short Chinese text shown for the change, given a way to name
    /// users.
    pub fn text(&self, name: impl Fn(&str) -> String) -> String {
        let actor = name(&self.actor_id);
        let user = self.user_id.as_deref().map(&name).unwrap_or_default();
        match self.event {
            SystemEventKind::Created => format!("{actor} 创建了群聊"),
            SystemEventKind::MemberAdded => format!("{actor} 邀请 {user} 加入了群聊"),
            SystemEventKind::MemberRemoved => format!("{actor} 将 {user} 移出了群聊"),
            SystemEventKind::MemberLeft => format!("{actor} 退出了群聊"),
            SystemEventKind::MediationStarted => format!("{actor} 申请了平台介入，{user} 已加入"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, role: Role) -> Person {
        Person {
            id: id.into(),
            role,
            active: true,
        }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn member(id: &str, role: Role, joined_at: i64) -> Member {
        Member {
            user_id: id.into(),
            role,
            joined_at,
        }
    }

    #[test]
    fn who_creates_groups_of_what_size() {
        let p1 = person("p1", Role::Platform);
        let m1 = person("m1", Role::Merchant);
        assert!(check_new_group(&p1, &ids(&["b1", "m1"])).is_ok());
        assert!(check_new_group(&m1, &ids(&["b1", "p1"])).is_ok());
        assert!(matches!(
            check_new_group(&person("b1", Role::Buyer), &ids(&["m1", "p1"])),
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            check_new_group(&person("a1", Role::Admin), &ids(&["m1", "p1"])),
            Err(DomainError::Forbidden(_))
        ));
        for bad in [ids(&["b1"]), ids(&["b1", "b1"]), ids(&["p1", "b1"])] {
            assert!(
                matches!(check_new_group(&p1, &bad), Err(DomainError::Validation(_))),
                "{bad:?}"
            );
        }
        let fifty: Vec<String> = (0..50).map(|i| format!("u{i}")).collect();
        assert!(check_new_group(&p1, &fifty[..49]).is_ok());
        assert!(check_new_group(&p1, &fifty).is_err());
    }

    #[test]
    fn who_may_be_added_by_whom() {
        let p1 = person("p1", Role::Platform);
        let m1 = person("m1", Role::Merchant);
        let b1 = person("b1", Role::Buyer);
        let b2 = person("b2", Role::Buyer);
        assert!(check_candidate(&p1, "b2", Some(&b2), false).is_ok());
        assert!(check_candidate(&m1, "p1", Some(&p1), false).is_ok());
        assert!(check_candidate(&m1, "b1", Some(&b1), true).is_ok());
        assert!(matches!(
            check_candidate(&m1, "b2", Some(&b2), false),
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            check_candidate(&b1, "b2", Some(&b2), true),
            Err(DomainError::Forbidden(_))
        ));
        let disabled = Person {
            active: false,
            ..b2.clone()
        };
        for bad in [None, Some(&disabled), Some(&person("a1", Role::Admin))] {
            assert!(matches!(
                check_candidate(&p1, "x", bad, true),
                Err(DomainError::Validation(_))
            ));
        }
    }

    #[test]
    fn the_creator_manages_then_the_earliest_seller() {
        let members = vec![
            member("b1", Role::Buyer, 1),
            member("m2", Role::Merchant, 3),
            member("m1", Role::Merchant, 2),
            member("p1", Role::Platform, 4),
        ];
        assert_eq!(manager(Some("m2"), &members), Some("m2"));
        assert_eq!(manager(Some("gone"), &members), Some("m1"));
        assert_eq!(manager(None, &members[..1]), None);
        assert_eq!(
            manager(Some("b1"), &members),
            Some("m1"),
            "a buyer never manages"
        );
        let m2 = person("m2", Role::Merchant);
        let m1 = person("m1", Role::Merchant);
        let p1 = person("p1", Role::Platform);
        assert!(may_manage(&m2, Some("m2"), &members));
        assert!(!may_manage(&m1, Some("m2"), &members));
        assert!(
            may_manage(&p1, Some("m2"), &members),
            "platform members manage"
        );
        assert!(!may_manage(
            &person("p2", Role::Platform),
            Some("m2"),
            &members
        ));
        assert_eq!(
            check_departure(&m1, "m1", Some("m2"), &members).unwrap(),
            Departure::Left
        );
        assert_eq!(
            check_departure(&p1, "b1", Some("m2"), &members).unwrap(),
            Departure::Removed
        );
        assert!(check_departure(&m1, "b1", Some("m2"), &members).is_err());
        assert!(check_room(49).is_ok());
        assert!(check_room(50).is_err());
    }

    #[test]
    fn mediation_is_for_the_two_sides_of_a_sale() {
        let sides = Sides {
            customer_id: "b1".into(),
            agent_id: "m1".into(),
        };
        assert!(check_mediation(&sides, Role::Buyer, Role::Merchant, "b1").is_ok());
        assert!(check_mediation(&sides, Role::Buyer, Role::Merchant, "m1").is_ok());
        assert!(check_mediation(&sides, Role::Buyer, Role::Merchant, "p1").is_err());
        assert!(check_mediation(&sides, Role::Buyer, Role::Platform, "b1").is_err());
        assert!(mediation_title(&"买".repeat(40), "店").chars().count() <= MAX_TITLE_CHARS);
        assert!(validate_title(" ").is_err());
        assert!(validate_title(&"群".repeat(51)).is_err());
        assert_eq!(validate_title(" 售后群 ").unwrap(), "售后群");
    }

    #[test]
    fn system_texts_name_the_people() {
        let name = |id: &str| format!("<{id}>");
        let e = SystemEvent {
            event: SystemEventKind::MemberAdded,
            actor_id: "m1".into(),
            user_id: Some("b1".into()),
        };
        assert_eq!(e.text(name), "<m1> 邀请 <b1> 加入了群聊");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["event"], "member_added");
    }
}
