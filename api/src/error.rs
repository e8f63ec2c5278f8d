//! The one place where errors become HTTP responses: every variant has an explicit status and a
//! stable snake_case `code`; the body is always `{code, message, fields?}`.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::DatabaseErrorKind;
use serde::Serialize;
use utoipa::ToSchema;

/// Result type of handlers and services.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// One failing field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Field name or JSON path (`fields[2].name`).
    pub field: String,
    /// Stable snake_case reason (`required`, `too_long`, `invalid_email`, ...).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case error code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Failing fields, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

/// Every error the API can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be parsed.
    #[error("{message}")]
    BadRequest {
        /// Error code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 401: no valid credentials.
    #[error("{message}")]
    Unauthorized {
        /// Error code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 403: authenticated, but the role may not do this.
    #[error("your role does not allow this action")]
    Forbidden,
    /// 404: no such object, or not visible to the caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the route exists with other methods.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the change conflicts with existing data.
    #[error("{message}")]
    Conflict {
        /// Error code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 413: the body is larger than allowed.
    #[error("request body is too large (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not JSON.
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    /// 422: well-formed but invalid.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 429: too many attempts; retry later.
    #[error("{message}")]
    TooManyRequests {
        /// Error code.
        code: &'static str,
        /// Explanation.
        message: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 502: an upstream server (SMTP) refused or could not be reached.
    #[error("{message}")]
    BadGateway {
        /// Error code.
        code: &'static str,
        /// Explanation, with the upstream's answer.
        message: String,
    },
    /// 503: a dependency (the database) is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure; logged once when turned into a response.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 500 with a message for the log (never shown to the client).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    /// A 422 with one field error.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A 401 with the generic "bad credentials" code.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// A 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The stable code in the body.
    pub fn code(&self) -> Cow<'static, str> {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::TooManyRequests { code, .. }
            | Self::BadGateway { code, .. } => Cow::Borrowed(code),
            Self::Forbidden => "forbidden".into(),
            Self::NotFound(entity) => format!("{entity}_not_found").into(),
            Self::MethodNotAllowed => "method_not_allowed".into(),
            Self::PayloadTooLarge { .. } => "payload_too_large".into(),
            Self::UnsupportedMediaType => "unsupported_media_type".into(),
            Self::Validation(_) => "validation_failed".into(),
            Self::Unavailable(_) => "service_unavailable".into(),
            Self::Internal(_) => "internal_error".into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error".to_string()
            }
            Self::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dependency unavailable");
                "the service is temporarily unavailable".to_string()
            }
            other => other.to_string(),
        };
        let fields = match self {
            Self::Validation(fields) => Some(fields.clone()),
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            response.insert_header((
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(&1).to_owned()),
            ));
        }
        response.json(ErrorBody {
            code: self.code().into_owned(),
            message,
            fields,
        })
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::Error as E;
        match e {
            E::NotFound => Self::NotFound("resource"),
            E::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Self::conflict(
                "already_exists",
                format!(
                    "a record with the same unique value exists ({})",
                    info.message()
                ),
            ),
            E::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                Self::conflict("in_use", "the record is referenced by other records")
            }
            // SQLite reports a RESTRICT violation found at statement end without the extended
            // code, so diesel cannot classify it; its message is stable.
            E::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("FOREIGN KEY constraint failed") =>
            {
                Self::conflict("in_use", "the record is referenced by other records")
            }
            E::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(info.message().to_string())
            }
            other => Self::internal(format!("database: {other}")),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<crate::crypto::CryptoError> for ApiError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Self::internal(e.to_string())
    }
}

/// Names the entity of a `NotFound` and the reason of a unique violation.
pub trait QueryResultExt<T> {
    /// Maps diesel's `NotFound` to a 404 for `entity`.
    fn or_not_found(self, entity: &'static str) -> Result<T, ApiError>;
    /// Maps a unique or foreign-key violation to a 409 with this code and message.
    fn or_conflict(self, code: &'static str, message: &str) -> Result<T, ApiError>;
}

impl<T> QueryResultExt<T> for Result<T, diesel::result::Error> {
    fn or_not_found(self, entity: &'static str) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            diesel::result::Error::NotFound => ApiError::NotFound(entity),
            other => other.into(),
        })
    }

    fn or_conflict(self, code: &'static str, message: &str) -> Result<T, ApiError> {
        self.map_err(|e| match ApiError::from(e) {
            ApiError::Conflict { .. } => ApiError::conflict(code, message),
            other => other,
        })
    }
}
