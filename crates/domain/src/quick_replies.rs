//! Quick replies: canned texts a user keeps for himself.

use crate::error::DomainError;
use crate::messages::validate_text;

/// A user keeps at most this many quick replies.
pub const MAX_QUICK_REPLIES: i64 = 10;
/// Longest quick reply, in characters.
pub const MAX_QUICK_REPLY_CHARS: usize = 500;

/// Trims and checks a quick reply's text.
pub fn validate_quick_reply(content: &str) -> Result<String, DomainError> {
    let text = validate_text(content)?;
    if content.chars().count() > MAX_QUICK_REPLY_CHARS {
        return Err(DomainError::Validation(format!(
            "a quick reply is at most {MAX_QUICK_REPLY_CHARS} characters"
        )));
    }
    Ok(text)
}

/// Fails with a conflict when a user who has `existing` replies adds one more.
pub fn check_room_for_another(existing: i64) -> Result<(), DomainError> {
    if existing >= MAX_QUICK_REPLIES {
        return Err(DomainError::Conflict(format!(
            "at most {MAX_QUICK_REPLIES} quick replies; delete one first"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_is_refused() {
        assert!(check_room_for_another(9).is_ok());
        assert!(matches!(
            check_room_for_another(10),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn content_is_checked() {
        assert_eq!(validate_quick_reply(" 您好 ").unwrap(), "您好");
        assert!(validate_quick_reply("").is_err());
        assert!(validate_quick_reply(&"x".repeat(501)).is_err());
    }
}
