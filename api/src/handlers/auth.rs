//! `/api/auth`: login, refresh-token rotation, logout.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Change};
use crate::auth::throttle::{self, Limit};
use crate::auth::{Principal, mfa, password, refresh};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, client_ip};
use crate::models::user::{RecoveryCode, User, UserChanges};
use crate::state::AppState;

/// Name of the refresh-token cookie.
pub const REFRESH_COOKIE: &str = "callpro_refresh";
/// Path the refresh cookie is scoped to.
const COOKIE_PATH: &str = "/api/auth";

/// Body of `POST /api/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Current TOTP code or a recovery code, for users with MFA.
    pub totp: Option<String>,
}

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

fn refresh_cookie(value: String, max_age_secs: u64) -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE, value)
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .finish()
}

fn token_response(
    state: &AppState,
    user: &User,
    refresh_token: String,
) -> Result<HttpResponse, ApiError> {
    let access_token = state.jwt.issue(user)?;
    Ok(HttpResponse::Ok()
        .cookie(refresh_cookie(
            refresh_token,
            state.config.auth.refresh_token_ttl_secs,
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: state.jwt.ttl_secs(),
        }))
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "email or password is incorrect")
}

fn locked(retry_after_secs: u64) -> ApiError {
    ApiError::TooManyRequests {
        code: "too_many_attempts",
        message: "too many failed logins; try again later".into(),
        retry_after_secs,
    }
}

/// Outcome of checking credentials, decided inside one transaction.
enum Attempt {
    Ok(Box<User>, String),
    Locked(u64),
    Failed,
    FailedAndLocked(u64),
    MfaRequired,
    BadSecondFactor,
}

fn check_second_factor(
    state: &AppState,
    conn: &mut DbConn,
    user: &User,
    code: &str,
) -> Result<bool, ApiError> {
    if mfa::is_recovery_code(code) {
        return Ok(RecoveryCode::consume(
            conn,
            user.id,
            &mfa::recovery_code_hash(code),
            db::now(),
        )?);
    }
    let Some(sealed) = &user.totp_secret else {
        return Ok(false);
    };
    let secret = state.secrets.open(sealed)?;
    match mfa::check(&secret, &user.email, code)? {
        Some(step) => Ok(User::advance_totp_step(conn, user.id, step)?),
        None => Ok(false),
    }
}

/// Logs in; answers an access token and sets the refresh cookie.
///
/// A wrong email and a wrong password answer the same. Repeated failures lock the account and
/// the client address for a while (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, body = TokenResponse, description = "Logged in; the refresh token is set as an HttpOnly cookie"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid_credentials, mfa_required or invalid_mfa_code"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Locked out; see Retry-After")))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let email = body.email.trim().to_lowercase();
    if email.len() > 254 || body.password.len() > password::MAX_LEN {
        return Err(invalid_credentials());
    }
    let ip = client_ip(&req, state.config.http.trust_proxy);
    let account_key = format!("account:{email}");
    let ip_key = format!("ip:{ip}");
    let auth = &state.config.auth;
    let account_limit = Limit {
        max_failures: auth.max_failed_logins,
        window_secs: auth.lockout_secs,
    };
    let ip_limit = Limit {
        max_failures: auth.max_failed_logins_per_ip,
        window_secs: auth.lockout_secs,
    };

    // Refuse locked keys before spending argon2 time on them.
    let (keys, email_for_lookup) = ((account_key.clone(), ip_key.clone()), email.clone());
    let (pre_lock, user) = state
        .db
        .run(move |conn| {
            let now = db::now();
            let lock = throttle::locked_for(conn, &keys.0, now)?
                .max(throttle::locked_for(conn, &keys.1, now)?);
            Ok((lock, User::find_by_email(conn, &email_for_lookup)?))
        })
        .await?;
    if let Some(secs) = pre_lock {
        return Err(locked(secs));
    }

    let pw = body.password.clone();
    let phc = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = web::block(move || match phc {
        Some(phc) => password::verify(&pw, &phc),
        None => {
            password::verify_dummy(&pw);
            false
        }
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;

    let st = state.clone();
    let totp = body.totp.clone();
    let attempt = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let now = db::now();
                let user = match user {
                    Some(u) if password_ok && u.active => u,
                    _ => {
                        let a = throttle::record_failure(conn, &account_key, account_limit, now)?;
                        let b = throttle::record_failure(conn, &ip_key, ip_limit, now)?;
                        return Ok(match a.max(b) {
                            Some(secs) => Attempt::FailedAndLocked(secs),
                            None => Attempt::Failed,
                        });
                    }
                };
                if user.totp_enabled {
                    let Some(code) = totp.as_deref().filter(|c| !c.trim().is_empty()) else {
                        return Ok(Attempt::MfaRequired);
                    };
                    if !check_second_factor(&st, conn, &user, code)? {
                        let a = throttle::record_failure(conn, &account_key, account_limit, now)?;
                        return Ok(match a {
                            Some(secs) => Attempt::FailedAndLocked(secs),
                            None => Attempt::BadSecondFactor,
                        });
                    }
                }
                if let Some(secs) = throttle::locked_for(conn, &account_key, now)? {
                    return Ok(Attempt::Locked(secs));
                }
                throttle::clear(conn, &account_key)?;
                let user = User::update(
                    conn,
                    user.id,
                    &UserChanges {
                        last_login_at: Some(Some(now)),
                        ..UserChanges::default()
                    },
                )?;
                let issued = refresh::issue(
                    conn,
                    user.id,
                    None,
                    st.config.auth.refresh_token_ttl_secs,
                    now,
                )?;
                let principal = Principal {
                    user: user.clone(),
                    ip: ip.clone(),
                };
                audit::record(
                    conn,
                    Some(&principal),
                    Change::<()> {
                        action: "auth.login",
                        entity: "user",
                        entity_id: user.id.to_string(),
                        call_center_id: user.call_center_id,
                        before: None,
                        after: None,
                    },
                )?;
                Ok(Attempt::Ok(Box::new(user), issued.token))
            })
        })
        .await?;
    match attempt {
        Attempt::Ok(user, token) => token_response(&state, &user, token),
        Attempt::Locked(secs) | Attempt::FailedAndLocked(secs) => Err(locked(secs)),
        Attempt::BadSecondFactor => Err(ApiError::unauthorized(
            "invalid_mfa_code",
            "the second-factor code is not valid",
        )),
        Attempt::Failed => Err(invalid_credentials()),
        Attempt::MfaRequired => Err(ApiError::unauthorized(
            "mfa_required",
            "this account requires a second-factor code (field `totp`)",
        )),
    }
}

fn cookie_token(req: &HttpRequest) -> Result<String, ApiError> {
    req.cookie(REFRESH_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .ok_or_else(|| ApiError::unauthorized("missing_refresh_token", "no refresh token cookie"))
}

/// Spends the refresh cookie and answers a new access token and a new cookie. Presenting a
/// token that was already spent revokes every token of its family (stolen-token defence).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    responses((status = 200, body = TokenResponse, description = "Rotated; a new refresh cookie is set"),
        (status = 401, body = ErrorBody, description = "missing_refresh_token, invalid_refresh_token or refresh_token_reused")),
    security(("refresh_cookie" = [])))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = cookie_token(&req)?;
    let ttl = state.config.auth.refresh_token_ttl_secs;
    let (rotation, user) = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let rotation = refresh::rotate(conn, &token, ttl, db::now())?;
                let user = match &rotation {
                    refresh::Rotation::Rotated { user_id, .. } => Some(User::find(conn, *user_id)?),
                    _ => None,
                };
                Ok((rotation, user))
            })
        })
        .await?;
    match (rotation, user) {
        (refresh::Rotation::Rotated { next, .. }, Some(user)) if user.active => {
            token_response(&state, &user, next.token)
        }
        (refresh::Rotation::Reused, _) => {
            tracing::warn!("a spent refresh token was presented again; its family is revoked");
            Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; all sessions of its family are ended",
            ))
        }
        _ => Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "the refresh token is unknown, expired or revoked",
        )),
    }
}

/// Ends the session: revokes the refresh cookie's family and clears the cookie.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Ok(token) = cookie_token(&req) {
        state
            .db
            .run(move |conn| Ok(refresh::revoke_by_token(conn, &token, db::now())?))
            .await?;
    }
    let mut gone = refresh_cookie(String::new(), 0);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}
