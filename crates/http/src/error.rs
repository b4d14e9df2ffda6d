//! The one error type every handler answers with: `{detail, error_type}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use livechat_domain::DomainError;
use livechat_store::StoreError;
use serde::Serialize;

/// An API failure, rendered as JSON with the status SPEC's table gives it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed JSON or multipart, wrong content type.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing, malformed, forged or expired token; failed login.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: wrong role or not one's own.
    #[error("{0}")]
    Forbidden(String),
    /// 403: a chat identity that may not open a session.
    #[error("access restricted")]
    AccessRestricted,
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422.
    #[error("{0}")]
    Validation(String),
    /// 429, with the seconds to wait.
    #[error("{0}")]
    RateLimited(String, u64),
    /// 500; the cause is logged, and shown only outside production.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub detail: String,
    /// A stable machine-readable kind.
    pub error_type: &'static str,
}

/// Whether 500 answers hide their cause; set once at start-up.
static HIDE_INTERNALS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes 500 answers generic (production).
pub fn hide_internal_errors(hide: bool) {
    HIDE_INTERNALS.store(hide, std::sync::atomic::Ordering::Relaxed);
}

impl ApiError {
    /// The `error_type` of this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::AccessRestricted => "access_restricted",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Validation(_) => "validation_error",
            ApiError::RateLimited(..) => "rate_limited",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Shorthand for a 500 with a logged cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::AccessRestricted => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let detail = match self {
            ApiError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                if HIDE_INTERNALS.load(std::sync::atomic::Ordering::Relaxed) {
                    "internal server error".to_string()
                } else {
                    format!("internal server error: {cause}")
                }
            }
            other => other.to_string(),
        };
        let mut res = HttpResponse::build(self.status_code());
        if let ApiError::RateLimited(_, secs) = self {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        res.json(ErrorBody {
            detail,
            error_type: self.error_type(),
        })
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(m) => ApiError::Validation(m),
            DomainError::Forbidden(m) => ApiError::Forbidden(m),
            DomainError::NotFound(m) => ApiError::NotFound(m),
            DomainError::Conflict(m) => ApiError::Conflict(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            other => ApiError::internal(other),
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
