//! Users, roles and statuses.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// What a user is. The role stored on the user decides everything; id
/// prefixes (`b…`, `m…`) are only a demo convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Asks merchants and platform support.
    Buyer,
    /// Answers buyers; asks platform support.
    Merchant,
    /// The platform's official support.
    Platform,
    /// Watches everything read-only and manages users.
    Admin,
}

impl Role {
    /// All roles, in display order.
    pub const ALL: [Role; 4] = [Role::Buyer, Role::Merchant, Role::Platform, Role::Admin];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::Merchant => "merchant",
            Role::Platform => "platform",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "buyer" => Ok(Role::Buyer),
            "merchant" => Ok(Role::Merchant),
            "platform" => Ok(Role::Platform),
            "admin" => Ok(Role::Admin),
            other => Err(DomainError::Validation(format!(
                "unknown role `{other}`: expected buyer, merchant, platform or admin"
            ))),
        }
    }

    /// Whether this role chats (everyone but admins).
    pub fn is_chat(self) -> bool {
        self != Role::Admin
    }

    /// The roles this role may open a conversation with.
    pub fn may_talk_to(self) -> &'static [Role] {
        match self {
            Role::Buyer => &[Role::Merchant, Role::Platform],
            Role::Merchant => &[Role::Buyer, Role::Platform],
            Role::Platform => &[Role::Buyer, Role::Merchant],
            Role::Admin => &[],
        }
    }

    /// The roles this role may browse in the user directory. Merchants do not
    /// browse buyers: a buyer's identity is shown to a merchant only once the
    /// buyer has started a conversation.
    pub fn may_browse(self) -> &'static [Role] {
        match self {
            Role::Buyer => &[Role::Merchant, Role::Platform],
            Role::Merchant => &[Role::Platform],
            Role::Platform => &[Role::Buyer, Role::Merchant],
            Role::Admin => &Role::ALL,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a user may use the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// May log in, chat and receive events.
    Active,
    /// Every token stops working and every socket closes.
    Disabled,
}

impl UserStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "active" => Ok(UserStatus::Active),
            "disabled" => Ok(UserStatus::Disabled),
            other => Err(DomainError::Validation(format!(
                "unknown status `{other}`: expected active or disabled"
            ))),
        }
    }
}

/// Maximum length of a user id.
pub const MAX_USER_ID_LEN: usize = 64;
/// Maximum length of a username.
pub const MAX_USERNAME_LEN: usize = 64;
/// Maximum length of a description.
pub const MAX_DESCRIPTION_LEN: usize = 500;
/// Maximum length of an avatar path or URL.
pub const MAX_AVATAR_LEN: usize = 500;

/// Shortest accepted administrator password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 6;

/// Checks a new administrator password's length.
pub fn validate_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::Validation(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Checks a new user id: 1 to 64 characters of ASCII letters, digits, `_`, `-` and `.`.
pub fn validate_user_id(id: &str) -> Result<(), DomainError> {
    if id.is_empty() || id.len() > MAX_USER_ID_LEN {
        return Err(DomainError::Validation(format!(
            "id must be 1 to {MAX_USER_ID_LEN} characters"
        )));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(DomainError::Validation(
            "id may contain only ASCII letters, digits, `_`, `-` and `.`".into(),
        ));
    }
    Ok(())
}

/// Trims and checks a username: 1 to 64 characters.
pub fn validate_username(name: &str) -> Result<String, DomainError> {
    crate::text::check_plain("username", name)?;
    // The length counts every character sent, as the OpenAPI document's
    // `maxLength` does; the name is stored trimmed.
    let len = name.chars().count();
    let name = name.trim();
    if !crate::text::has_visible(name) || len > MAX_USERNAME_LEN {
        return Err(DomainError::Validation(format!(
            "username must be 1 to {MAX_USERNAME_LEN} characters"
        )));
    }
    Ok(name.to_string())
}

/// Checks an optional free-text field's length.
pub fn validate_optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<(), DomainError> {
    if let Some(v) = value {
        crate::text::check_plain(field, v)?;
    }
    match value {
        Some(v) if v.chars().count() > max => Err(DomainError::Validation(format!(
            "{field} must be at most {max} characters"
        ))),
        _ => Ok(()),
    }
}

/// Only administrators have passwords, and every administrator has one:
/// chat users sign in through the marketplace.
pub fn check_password_rule(role: Role, has_password: bool) -> Result<(), DomainError> {
    match (role, has_password) {
        (Role::Admin, false) => Err(DomainError::Validation(
            "an administrator needs a password".into(),
        )),
        (r, true) if r != Role::Admin => Err(DomainError::Validation(
            "only administrators have passwords; chat users sign in through the marketplace".into(),
        )),
        _ => Ok(()),
    }
}

/// An avatar or description as given: empty means none.
fn optional_text(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A new user's fields, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The id (`b1`, `m1`…).
    pub id: String,
    /// The display name, trimmed.
    pub username: String,
    /// The stored role: what the user may do and whom they may talk to.
    pub role: Role,
    /// An avatar path (`/media/...`) or URL, at most 500 characters.
    pub avatar: Option<String>,
    /// Free text shown on the profile (a shop's hours, say), at most 500
    /// characters.
    pub description: Option<String>,
    /// An administrator's password (to be hashed).
    pub password: Option<String>,
}

impl NewUser {
    /// Checks every field and the password rule.
    pub fn parse(
        id: String,
        username: &str,
        role: &str,
        avatar: Option<String>,
        description: Option<String>,
        password: Option<String>,
    ) -> Result<Self, DomainError> {
        validate_user_id(&id)?;
        let username = validate_username(username)?;
        let role = Role::parse(role)?;
        validate_optional_text("avatar", avatar.as_deref(), MAX_AVATAR_LEN)?;
        validate_optional_text("description", description.as_deref(), MAX_DESCRIPTION_LEN)?;
        check_password_rule(role, password.is_some())?;
        if let Some(p) = &password {
            validate_password(p)?;
        }
        Ok(Self {
            id,
            username,
            role,
            avatar: optional_text(avatar),
            description,
            password,
        })
    }
}

/// An administrator's changes to a user, checked; `None` leaves a field
/// alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserEdit {
    /// A new display name.
    pub username: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// A new avatar, or none.
    pub avatar: Option<Option<String>>,
    /// A new description, or none.
    pub description: Option<Option<String>>,
    /// Disable or enable.
    pub status: Option<UserStatus>,
    /// A new administrator password (to be hashed).
    pub password: Option<String>,
}

/// Changes to a user as they arrive; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserEditFields {
    /// A new display name.
    pub username: Option<String>,
    /// A new role: buyer, merchant, platform or admin.
    pub role: Option<String>,
    /// A new avatar; empty clears it.
    pub avatar: Option<String>,
    /// A new description; empty clears it.
    pub description: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    /// A new password (administrators only).
    pub password: Option<String>,
}

impl UserEdit {
    /// Checks the fields of an edit of `target_id` by the administrator
    /// `editor_id`, who may not lock himself out.
    pub fn parse(f: UserEditFields, editor_id: &str, target_id: &str) -> Result<Self, DomainError> {
        let username = f.username.as_deref().map(validate_username).transpose()?;
        let role = f.role.as_deref().map(Role::parse).transpose()?;
        let status = f.status.as_deref().map(UserStatus::parse).transpose()?;
        validate_optional_text("avatar", f.avatar.as_deref(), MAX_AVATAR_LEN)?;
        validate_optional_text("description", f.description.as_deref(), MAX_DESCRIPTION_LEN)?;
        if editor_id == target_id
            && (status == Some(UserStatus::Disabled) || role.is_some_and(|r| r != Role::Admin))
        {
            return Err(DomainError::Validation(
                "you cannot disable your own account or take away your own admin role".into(),
            ));
        }
        if let Some(p) = &f.password {
            validate_password(p)?;
        }
        Ok(Self {
            username,
            role,
            avatar: f.avatar.map(|a| optional_text(Some(a))),
            description: f.description.map(|d| optional_text(Some(d))),
            status,
            password: f.password,
        })
    }

    /// Checks the edit against the user as stored: a user who has
    /// conversations keeps his role (their sides would no longer hold), and
    /// the password rule holds after the change.
    pub fn check_against(
        &self,
        current_role: Role,
        has_password: bool,
        has_conversations: bool,
    ) -> Result<(), DomainError> {
        let role = self.role.unwrap_or(current_role);
        if role != current_role && has_conversations {
            return Err(DomainError::Conflict(
                "the role of a user who has conversations cannot change: their sides would no longer hold"
                    .into(),
            ));
        }
        if role == Role::Admin && !has_password && self.password.is_none() {
            return Err(DomainError::Validation(
                "an administrator needs a password".into(),
            ));
        }
        if self.password.is_some() && role != Role::Admin {
            return Err(DomainError::Validation(
                "only administrators have passwords".into(),
            ));
        }
        Ok(())
    }
}

/// A chat user as a marketplace's server sends it
/// (`PUT /api/integrations/users/{id}`): the fields of [`NewUser`] for a
/// new user, of [`UserEdit`] for a stored one, with the role limited to
/// chat roles. On an update, an absent avatar, description or status stays
/// as it is, and an empty avatar or description clears it.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatUserFields {
    /// The display name.
    pub username: String,
    /// buyer, merchant or platform.
    pub role: String,
    /// An avatar path or URL.
    pub avatar: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// `active` (a new user's default) or `disabled`.
    pub status: Option<String>,
}

/// Refuses the admin role for a user managed by an integration.
fn chat_role_only(role: Role) -> Result<(), DomainError> {
    if role.is_chat() {
        Ok(())
    } else {
        Err(DomainError::Validation(
            "role must be buyer, merchant or platform: API keys manage chat users only".into(),
        ))
    }
}

impl ChatUserFields {
    /// The user to create under `id`, and his status, checked by
    /// [`NewUser::parse`] (no password: chat users have none).
    pub fn new_user(&self, id: String) -> Result<(NewUser, UserStatus), DomainError> {
        Role::parse(&self.role).and_then(chat_role_only)?;
        let new = NewUser::parse(
            id,
            &self.username,
            &self.role,
            self.avatar.clone(),
            self.description.clone().filter(|d| !d.trim().is_empty()),
            None,
        )?;
        let status = self
            .status
            .as_deref()
            .map(UserStatus::parse)
            .transpose()?
            .unwrap_or(UserStatus::Active);
        Ok((new, status))
    }

    /// The edit of the stored user `id`, checked by [`UserEdit::parse`];
    /// [`ChatUserFields::check_stored`] and [`UserEdit::check_against`]
    /// then check it against the stored user.
    pub fn edit(&self, id: &str) -> Result<UserEdit, DomainError> {
        validate_user_id(id)?;
        Role::parse(&self.role).and_then(chat_role_only)?;
        let fields = UserEditFields {
            username: Some(self.username.clone()),
            role: Some(self.role.clone()),
            avatar: self.avatar.clone(),
            description: self.description.clone(),
            status: self.status.clone(),
            password: None,
        };
        // No editor: a key is nobody's account, so it cannot lock itself out.
        UserEdit::parse(fields, "", id)
    }

    /// A stored administrator is out of an integration's reach.
    pub fn check_stored(id: &str, current_role: Role) -> Result<(), DomainError> {
        if current_role.is_chat() {
            Ok(())
        } else {
            Err(DomainError::Conflict(format!(
                "user `{id}` is an administrator: API keys manage chat users only"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_reject_unknown() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(matches!(
            Role::parse("root"),
            Err(DomainError::Validation(_))
        ));
        assert!(matches!(
            Role::parse("Buyer"),
            Err(DomainError::Validation(_))
        ));
    }

    #[test]
    fn admins_talk_to_nobody_and_buyers_browse_sellers_only() {
        assert!(Role::Admin.may_talk_to().is_empty());
        assert!(!Role::Admin.is_chat());
        assert_eq!(Role::Buyer.may_browse(), &[Role::Merchant, Role::Platform]);
        assert!(!Role::Merchant.may_browse().contains(&Role::Buyer));
        assert!(Role::Merchant.may_talk_to().contains(&Role::Buyer));
    }

    #[test]
    fn user_ids_and_names_are_checked() {
        assert!(validate_user_id("b1").is_ok());
        assert!(validate_user_id("shop-01.cn_x").is_ok());
        assert!(validate_user_id("").is_err());
        assert!(validate_user_id("a b").is_err());
        assert!(validate_user_id("../x").is_err());
        assert!(validate_user_id(&"x".repeat(65)).is_err());
        assert_eq!(validate_username("  药师09685 ").unwrap(), "药师09685");
        assert!(validate_username("   ").is_err());
        assert!(validate_username(&"名".repeat(65)).is_err());
        assert!(validate_optional_text("description", Some(&"x".repeat(501)), 500).is_err());
        assert!(validate_optional_text("description", None, 500).is_ok());
        assert!(validate_password("123456").is_ok());
        assert!(validate_password("长长长长长").is_err());
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(UserStatus::parse("disabled").unwrap(), UserStatus::Disabled);
        assert!(UserStatus::parse("banned").is_err());
    }

    #[test]
    fn new_users_follow_the_password_rule() {
        let new = |role: &str, password: Option<&str>| {
            NewUser::parse(
                "u1".into(),
                " 新店 ",
                role,
                Some(" ".into()),
                None,
                password.map(str::to_string),
            )
        };
        let m = new("merchant", None).unwrap();
        assert_eq!(
            (m.username.as_str(), m.role, m.avatar),
            ("新店", Role::Merchant, None)
        );
        assert!(new("merchant", Some("secret1")).is_err());
        assert!(new("admin", None).is_err());
        assert!(new("admin", Some("short")).is_err());
        assert!(new("admin", Some("secret1")).is_ok());
        assert!(new("wizard", None).is_err());
    }

    #[test]
    fn edits_cannot_lock_out_their_author_or_break_sides() {
        let edit = |f: UserEditFields, target: &str| UserEdit::parse(f, "a1", target);
        let disable = UserEditFields {
            status: Some("disabled".into()),
            ..UserEditFields::default()
        };
        assert!(edit(disable.clone(), "a1").is_err());
        assert_eq!(
            edit(disable, "m1").unwrap().status,
            Some(UserStatus::Disabled)
        );
        let demote = UserEditFields {
            role: Some("buyer".into()),
            ..UserEditFields::default()
        };
        assert!(edit(demote.clone(), "a1").is_err());
        let to_buyer = edit(demote, "m1").unwrap();
        assert!(matches!(
            to_buyer.check_against(Role::Merchant, false, true),
            Err(DomainError::Conflict(_))
        ));
        assert!(to_buyer.check_against(Role::Merchant, false, false).is_ok());
        let promote = edit(
            UserEditFields {
                role: Some("admin".into()),
                ..UserEditFields::default()
            },
            "m1",
        )
        .unwrap();
        assert!(promote.check_against(Role::Merchant, false, false).is_err());
        let password = edit(
            UserEditFields {
                password: Some("secret1".into()),
                ..UserEditFields::default()
            },
            "m1",
        )
        .unwrap();
        assert!(password
            .check_against(Role::Merchant, false, false)
            .is_err());
        assert!(password.check_against(Role::Admin, true, false).is_ok());
        let cleared = edit(
            UserEditFields {
                avatar: Some(String::new()),
                ..UserEditFields::default()
            },
            "m1",
        )
        .unwrap();
        assert_eq!(cleared.avatar, Some(None));
    }

    #[test]
    fn integrations_upsert_chat_users_only() {
        let fields = |role: &str| ChatUserFields {
            username: " 新店 ".into(),
            role: role.into(),
            avatar: None,
            description: Some(String::new()),
            status: None,
        };
        let (new, status) = fields("merchant").new_user("m9".into()).unwrap();
        assert_eq!(
            (new.username.as_str(), new.role, status),
            ("新店", Role::Merchant, UserStatus::Active)
        );
        assert_eq!(new.description, None);
        assert!(fields("admin").new_user("x".into()).is_err());
        assert!(fields("admin").edit("x").is_err());
        assert!(fields("buyer").new_user("a b".into()).is_err());
        assert!(fields("buyer").edit("a b").is_err());
        let mut empty = fields("buyer");
        empty.username = "  ".into();
        assert!(empty.new_user("b9".into()).is_err());
        assert!(empty.edit("b9").is_err());
        let edit = fields("buyer").edit("m1").unwrap();
        assert_eq!(edit.role, Some(Role::Buyer));
        assert_eq!(edit.avatar, None, "an absent avatar stays");
        assert_eq!(edit.description, Some(None), "an empty description clears");
        assert!(matches!(
            edit.check_against(Role::Merchant, false, true),
            Err(DomainError::Conflict(_))
        ));
        assert!(ChatUserFields::check_stored("a1", Role::Admin).is_err());
        assert!(ChatUserFields::check_stored("b1", Role::Buyer).is_ok());
    }
}
