//! Uploads: the three kinds and which message types may carry each.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// What an upload was made as (its endpoint: `/api/upload/{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    /// An image (jpeg, png, gif, webp).
    Image,
    /// A document, an archive or an image sent as a file.
    File,
    /// A recorded voice note.
    Voice,
}

impl UploadKind {
    /// Every kind.
    pub const ALL: [UploadKind; 3] = [UploadKind::Image, UploadKind::File, UploadKind::Voice];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::Image => "image",
            UploadKind::File => "file",
            UploadKind::Voice => "voice",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::Validation(format!(
                    "unknown upload kind `{s}`: expected image, file or voice"
                ))
            })
    }
}

impl std::fmt::Display for UploadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored upload, as a message made from it needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The upload's id (`upload_id`).
    pub id: String,
    /// Who uploaded it: only they may send it.
    pub owner_id: String,
    /// The endpoint it came through.
    pub kind: UploadKind,
    /// Where it is served, relative (`/media/...`).
    pub path: String,
    /// The original name, for display.
    pub file_name: String,
    /// Bytes.
    pub file_size: i64,
    /// The type judged from the bytes.
    pub mime: String,
    /// An image's thumbnail, relative.
    pub thumbnail_path: Option<String>,
    /// An image's width in pixels.
    pub width: Option<i32>,
    /// An image's height in pixels.
    pub height: Option<i32>,
    /// A voice note's length.
    pub duration_ms: Option<i64>,
}
