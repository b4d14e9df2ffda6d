//! Store errors.

use livechat_domain::DomainError;
use thiserror::Error;

/// Anything the store can fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A domain rule refused the change (mapped to its own status).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    /// A stored value breaks the schema's rules; the message names the
    /// column and the value.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// No connection could be had.
    #[error("connection pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// Opening or migrating the database failed.
    #[error("database setup failed: {0}")]
    Setup(String),
    /// The blocking task died.
    #[error("database task failed: {0}")]
    Task(String),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            // Diesel's own text names only the field; the cause says why.
            diesel::result::Error::DeserializationError(cause) => {
                let mut text = cause.to_string();
                let mut source = cause.source();
                while let Some(s) = source {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    source = s.source();
                }
                StoreError::Corrupt(text)
            }
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Shorthand for a not-found domain error.
    pub fn not_found(what: impl Into<String>) -> Self {
        StoreError::Domain(DomainError::NotFound(what.into()))
    }

    /// Shorthand for a conflict domain error.
    pub fn conflict(what: impl Into<String>) -> Self {
        StoreError::Domain(DomainError::Conflict(what.into()))
    }

    /// Shorthand for a taken unique value of `field`.
    pub fn taken(field: &'static str, what: impl Into<String>) -> Self {
        StoreError::Domain(DomainError::taken(field, what))
    }

    /// Shorthand for a validation domain error.
    pub fn invalid(what: impl Into<String>) -> Self {
        StoreError::Domain(DomainError::Validation(what.into()))
    }

    /// Shorthand for a forbidden domain error.
    pub fn forbidden(what: impl Into<String>) -> Self {
        StoreError::Domain(DomainError::Forbidden(what.into()))
    }
}

/// Whether a Diesel error is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
