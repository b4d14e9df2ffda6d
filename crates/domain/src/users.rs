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
    let name = name.trim();
    let len = name.chars().count();
    if len == 0 || len > MAX_USERNAME_LEN {
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
    match value {
        Some(v) if v.chars().count() > max => Err(DomainError::Validation(format!(
            "{field} must be at most {max} characters"
        ))),
        _ => Ok(()),
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
}
