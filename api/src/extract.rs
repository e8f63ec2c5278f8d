//! Request extractors that answer bad input with the API's JSON errors: a JSON body extractor
//! that reports the failing field's path, error handlers for query strings and paths, and the
//! caller's IP address.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// A JSON request body; malformed JSON is 400, wrong shapes are 422 naming the field,
/// oversized bodies 413, other content types 415.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || v.ends_with("+json")
            })
            .unwrap_or(false);
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.http.max_body_bytes)
            .unwrap_or(256 * 1024);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            let body = read_capped(&mut payload, declared, limit).await?;
            parse_json(&body).map(Json)
        })
    }
}

/// Reads a request body of at most `limit` bytes: 413 as soon as the declared length or the
/// bytes received go over it, 400 when the body cannot be read.
pub async fn read_capped<S>(
    payload: &mut S,
    declared: Option<usize>,
    limit: usize,
) -> Result<web::BytesMut, ApiError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, PayloadError>> + Unpin,
{
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| payload_error(e, limit))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Deserializes `body`, mapping syntax errors to 400 and data errors to 422 with the path.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".into() } else { path };
                let message = inner.to_string();
                let code = if message.starts_with("missing field") {
                    "required"
                } else if message.starts_with("unknown field") {
                    "unknown_field"
                } else {
                    "invalid_type"
                };
                ApiError::Validation(vec![FieldError::new(field, code, strip_position(&message))])
            }
            _ => ApiError::BadRequest {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {inner}"),
            },
        }
    })
}

/// serde_json appends " at line 1 column 12" to data errors; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn payload_error(e: PayloadError, limit: usize) -> ApiError {
    match e {
        PayloadError::Overflow => ApiError::PayloadTooLarge { limit },
        other => ApiError::BadRequest {
            code: "bad_body",
            message: format!("cannot read the request body: {other}"),
        },
    }
}

/// Error handler for `web::Query`: 400 naming the parameter problem.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest {
        code: "invalid_query",
        message: format!("invalid query string: {err}"),
    }
    .into()
}

/// Error handler for `web::Path`: a path segment of the wrong type is a 404 (no such object).
pub fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound("resource").into()
}

/// Error handler for actix's own JSON extractor (used nowhere by handlers, kept consistent).
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit }.into(),
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType.into(),
        other => ApiError::BadRequest {
            code: "malformed_json",
            message: other.to_string(),
        }
        .into(),
    }
}

/// The client address: the socket peer, or `X-Forwarded-For`'s first hop behind a trusted proxy.
pub fn client_ip(req: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
    {
        return ip.to_string();
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        n: u32,
    }

    #[test]
    fn syntax_errors_are_400_and_data_errors_name_the_field() {
        let e = parse_json::<Body>(b"{not json").unwrap_err();
        assert!(matches!(
            e,
            ApiError::BadRequest {
                code: "malformed_json",
                ..
            }
        ));
        let ApiError::Validation(f) = parse_json::<Body>(br#"{"name":"x","n":"7"}"#).unwrap_err()
        else {
            panic!("expected validation")
        };
        assert_eq!(f[0].field, "n");
        assert_eq!(f[0].code, "invalid_type");
        let ApiError::Validation(f) = parse_json::<Body>(br#"{"n":1}"#).unwrap_err() else {
            panic!("expected validation")
        };
        assert_eq!(f[0].code, "required");
        let ApiError::Validation(f) =
            parse_json::<Body>(br#"{"name":"a","n":1,"x":2}"#).unwrap_err()
        else {
            panic!("expected validation")
        };
        assert_eq!(f[0].code, "unknown_field");
    }
}
