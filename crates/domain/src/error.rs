//! Errors raised by domain rules.

use thiserror::Error;

/// A rule said no. Each variant maps to one HTTP status in the API layer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// The values are well-formed but not acceptable (422).
    #[error("{0}")]
    Validation(String),
    /// The acting user may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the actor may not know it does (404).
    #[error("{0}")]
    NotFound(String),
    /// The change collides with existing state (409).
    #[error("{0}")]
    Conflict(String),
    /// A value that must be unique is taken (409); `field` names it, so a
    /// client can point at the input without reading the message.
    #[error("{detail}")]
    Taken {
        /// The wire name of the field whose value is taken.
        field: &'static str,
        /// What is taken, for a person.
        detail: String,
    },
}

impl DomainError {
    /// A taken unique value of `field`.
    pub fn taken(field: &'static str, detail: impl Into<String>) -> Self {
        DomainError::Taken {
            field,
            detail: detail.into(),
        }
    }
}
