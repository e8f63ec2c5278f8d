//! The authenticated caller, extracted from `Authorization: Bearer <jwt>`. The user row is
//! re-read on every request so that deactivation and role changes take effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use diesel::OptionalExtension as _;

use crate::error::ApiError;
use crate::extract::client_ip;
use crate::models::user::{Role, User};
use crate::state::AppState;

/// The caller of an authenticated endpoint.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user, as stored now.
    pub user: User,
    /// Client address, for the audit log.
    pub ip: String,
}

impl Principal {
    /// User id.
    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// Role.
    pub fn role(&self) -> Role {
        self.user.role()
    }

    /// Tenant (`None` for super admins).
    pub fn call_center_id(&self) -> Option<i64> {
        self.user.call_center_id
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let trust_proxy = state.as_ref().is_some_and(|s| s.config.http.trust_proxy);
        let ip = client_ip(req, trust_proxy);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized("unauthorized", "an access token is required")
            })?;
            let claims = state.jwt.verify(&token)?;
            let id: i64 = claims.sub.parse().map_err(|_| {
                ApiError::unauthorized("invalid_token", "the access token is not valid")
            })?;
            let user = state
                .db
                .run(move |conn| Ok(User::find(conn, id).optional()?))
                .await?
                .filter(|u| u.active)
                .ok_or_else(|| {
                    ApiError::unauthorized("invalid_token", "the account is unknown or disabled")
                })?;
            Ok(Principal { user, ip })
        })
    }
}
