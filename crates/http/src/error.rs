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
    /// 405: a known path, but not this method (the `Allow` header is the
    /// caller's to add).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 408: the request body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// 409: a unique value of `field` is taken.
    #[error("{detail}")]
    Taken {
        /// The field whose value is taken.
        field: &'static str,
        /// What is taken.
        detail: String,
    },
    /// 413.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422.
    #[error("{0}")]
    Validation(String),
    /// 422 about one request field, which the body names.
    #[error("{detail}")]
    Invalid {
        /// The request field at fault.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// 429, with the seconds to wait.
    #[error("{0}")]
    RateLimited(String, u64),
    /// 503: the node cannot take this now (near its open-file limit).
    #[error("{0}")]
    Unavailable(String),
    /// 500; the cause is logged, and shown only outside production.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub detail: String,
    /// A stable machine-readable kind.
    pub error_type: &'static str,
    /// The request field the error is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

/// The detail every 500 answers with; the cause travels beside it in
/// [`InternalCause`], and the request middleware decides whether clients
/// see it (never in production).
pub const INTERNAL_DETAIL: &str = "internal server error";

/// The cause of a 500, kept in the response's extensions for the request
/// middleware to log (and, outside production, show).
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

/// Maps a serde error to 400 (not JSON) or 422 (JSON, wrong values).
pub fn json_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ApiError::Validation(format!("invalid body: {e}")),
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::BadRequest(format!("malformed JSON: {e}"))
        }
    }
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
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::RequestTimeout(_) => "request_timeout",
            ApiError::Conflict(_) | ApiError::Taken { .. } => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Validation(_) | ApiError::Invalid { .. } => "validation_error",
            ApiError::RateLimited(..) => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
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
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) | ApiError::Taken { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let detail = match self {
            ApiError::Internal(_) => INTERNAL_DETAIL.to_string(),
            other => other.to_string(),
        };
        let field = match self {
            ApiError::Taken { field, .. } | ApiError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        let mut res = HttpResponse::build(self.status_code());
        if let ApiError::RateLimited(_, secs) = self {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        let mut res = res.json(ErrorBody {
            detail,
            error_type: self.error_type(),
            field,
        });
        if let ApiError::Internal(cause) = self {
            res.extensions_mut().insert(InternalCause(cause.clone()));
        }
        res
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(m) => ApiError::Validation(m),
            DomainError::Forbidden(m) => ApiError::Forbidden(m),
            DomainError::NotFound(m) => ApiError::NotFound(m),
            DomainError::Conflict(m) => ApiError::Conflict(m),
            DomainError::Taken { field, detail } => ApiError::Taken { field, detail },
        }
    }
}

impl From<livechat_domain::webhooks::InvalidWebhook> for ApiError {
    fn from(e: livechat_domain::webhooks::InvalidWebhook) -> Self {
        ApiError::Invalid {
            field: e.field,
            detail: e.detail,
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
