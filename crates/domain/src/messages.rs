//! Message types, validation and previews.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Longest text message, in characters after trimming.
pub const MAX_TEXT_CHARS: usize = 5000;
/// Characters of a text message shown in a conversation preview.
pub const PREVIEW_CHARS: usize = 100;
/// Longest `client_msg_id`.
pub const MAX_CLIENT_MSG_ID_LEN: usize = 64;

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// Plain text.
    Text,
    /// An uploaded image.
    Image,
    /// An uploaded file.
    File,
    /// A recorded voice note.
    Voice,
    /// An order card.
    Order,
}

impl MessageType {
    /// Every type.
    pub const ALL: [MessageType; 5] = [
        MessageType::Text,
        MessageType::Image,
        MessageType::File,
        MessageType::Voice,
        MessageType::Order,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Text => "text",
            MessageType::Image => "image",
            MessageType::File => "file",
            MessageType::Voice => "voice",
            MessageType::Order => "order",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                DomainError::Validation(format!(
                    "unknown message_type `{s}`: expected text, image, file, voice or order"
                ))
            })
    }

    /// Whether the message is sent with an `upload_id`.
    pub fn is_media(self) -> bool {
        matches!(
            self,
            MessageType::Image | MessageType::File | MessageType::Voice
        )
    }
}

/// Trims a text message and checks its length (1 to 5,000 characters).
pub fn validate_text(content: &str) -> Result<String, DomainError> {
    let trimmed = content.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(DomainError::Validation("content must not be empty".into()));
    }
    if len > MAX_TEXT_CHARS {
        return Err(DomainError::Validation(format!(
            "content is {len} characters; the limit is {MAX_TEXT_CHARS}"
        )));
    }
    Ok(trimmed.to_string())
}

/// Checks a client-made message id: 1 to 64 printable ASCII characters.
pub fn validate_client_msg_id(id: &str) -> Result<(), DomainError> {
    if id.is_empty()
        || id.len() > MAX_CLIENT_MSG_ID_LEN
        || !id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(DomainError::Validation(format!(
            "client_msg_id must be 1 to {MAX_CLIENT_MSG_ID_LEN} printable ASCII characters"
        )));
    }
    Ok(())
}

/// The conversation-list preview of a message, as the seed shows it.
pub fn preview(message_type: MessageType, content: &str) -> String {
    match message_type {
        MessageType::Text => content.chars().take(PREVIEW_CHARS).collect(),
        MessageType::Image => "[图片]".into(),
        MessageType::File => "[文件]".into(),
        MessageType::Voice => "[语音]".into(),
        MessageType::Order => "[订单]".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_in_characters() {
        assert_eq!(validate_text("  你好 \n").unwrap(), "你好");
        assert!(validate_text("   \n\t").is_err());
        assert!(validate_text("").is_err());
        assert!(validate_text(&"好".repeat(5000)).is_ok());
        let err = validate_text(&"好".repeat(5001)).unwrap_err();
        assert_eq!(
            err,
            DomainError::Validation("content is 5001 characters; the limit is 5000".into())
        );
    }

    #[test]
    fn types_parse_and_reject_unknown() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::parse(t.as_str()).unwrap(), t);
        }
        assert!(MessageType::parse("video").is_err());
        assert!(MessageType::Voice.is_media());
        assert!(!MessageType::Order.is_media());
    }

    #[test]
    fn previews_follow_the_seed() {
        assert_eq!(preview(MessageType::Image, "/media/x.png"), "[图片]");
        assert_eq!(preview(MessageType::File, "x"), "[文件]");
        assert_eq!(preview(MessageType::Voice, "x"), "[语音]");
        assert_eq!(preview(MessageType::Order, "x"), "[订单]");
        let long = "字".repeat(150);
        assert_eq!(preview(MessageType::Text, &long).chars().count(), 100);
    }

    #[test]
    fn client_msg_ids_are_bounded() {
        assert!(validate_client_msg_id("c-1f2e").is_ok());
        assert!(validate_client_msg_id("").is_err());
        assert!(validate_client_msg_id("has space").is_err());
        assert!(validate_client_msg_id(&"x".repeat(65)).is_err());
    }
}
