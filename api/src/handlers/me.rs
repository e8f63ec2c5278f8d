//! `/api/me`: the caller's own profile, password and second factor.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::users::UserView;
use crate::audit::{self, Change};
use crate::auth::{Principal, mfa, password, refresh};
use crate::db;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Json;
use crate::models::user::{RecoveryCode, User, UserChanges};
use crate::state::AppState;
use crate::validate::Validator;

/// Answer of `POST /api/me/mfa/enroll`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaEnrollment {
    /// Base32 secret, for manual entry.
    pub secret: String,
    /// `otpauth://` URI for a QR code.
    pub otpauth_uri: String,
}

/// Body of `POST /api/me/mfa/activate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    /// A current 6-digit code from the authenticator.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Answer of `POST /api/me/mfa/activate`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// One-time codes; shown once, store them safely.
    pub recovery_codes: Vec<String>,
}

/// Body of `POST /api/me/password` and `POST /api/me/mfa/disable`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    pub current_password: String,
    /// The new password (12+ characters); omit it to only confirm identity.
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: Option<String>,
}

fn audit_me(conn: &mut db::DbConn, principal: &Principal, action: &str) -> Result<(), ApiError> {
    audit::record(
        conn,
        Some(principal),
        Change::<()> {
            action,
            entity: "user",
            entity_id: principal.id().to_string(),
            call_center_id: principal.call_center_id(),
            before: None,
            after: None,
        },
    )
}

async fn check_current_password(principal: &Principal, given: String) -> Result<(), ApiError> {
    let phc = principal.user.password_hash.clone();
    let ok = web::block(move || password::verify(&given, &phc))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "current_password",
            "incorrect",
            "the current password is incorrect",
        ))
    }
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/me", tag = "me",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(principal: Principal) -> web::Json<UserView> {
    web::Json(UserView::from(&principal.user))
}

/// Changes the caller's password; every other session ends.
#[utoipa::path(post, path = "/api/me/password", tag = "me",
    request_body = ChangePassword,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_password(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let Some(new_password) = body.new_password else {
        return Err(ApiError::field(
            "new_password",
            "required",
            "give the new password",
        ));
    };
    let mut v = Validator::new();
    v.length(
        "new_password",
        &new_password,
        password::MIN_LEN,
        password::MAX_LEN,
    );
    v.finish()?;
    check_current_password(&principal, body.current_password).await?;
    let hash = web::block(move || password::hash(&new_password))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                User::update(
                    conn,
                    principal.id(),
                    &UserChanges {
                        password_hash: Some(hash),
                        updated_at: Some(db::now()),
                        ..UserChanges::default()
                    },
                )?;
                refresh::revoke_user(conn, principal.id(), db::now())?;
                audit_me(conn, &principal, "user.password_change")
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Starts TOTP enrolment: a new secret, pending until activated with a first code.
#[utoipa::path(post, path = "/api/me/mfa/enroll", tag = "me",
    responses((status = 200, body = MfaEnrollment), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "MFA is already active")),
    security(("bearer" = [])))]
pub async fn mfa_enroll(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<web::Json<MfaEnrollment>, ApiError> {
    if principal.user.totp_enabled {
        return Err(ApiError::conflict(
            "mfa_already_enabled",
            "MFA is already active; disable it first",
        ));
    }
    let secret = mfa::generate_secret();
    let otpauth_uri = mfa::otpauth_uri(&secret, &principal.user.email)?;
    let sealed = state.secrets.seal(&secret);
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                User::update(
                    conn,
                    principal.id(),
                    &UserChanges {
                        totp_secret: Some(Some(sealed)),
                        totp_last_step: Some(None),
                        updated_at: Some(db::now()),
                        ..UserChanges::default()
                    },
                )?;
                audit_me(conn, &principal, "user.mfa_enroll")
            })
        })
        .await?;
    Ok(web::Json(MfaEnrollment {
        secret,
        otpauth_uri,
    }))
}

/// Activates the pending TOTP secret with a first code; answers the recovery codes once.
#[utoipa::path(post, path = "/api/me/mfa/activate", tag = "me",
    request_body = MfaCode,
    responses((status = 200, body = RecoveryCodes), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mfa_activate(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<MfaCode>,
) -> Result<web::Json<RecoveryCodes>, ApiError> {
    if principal.user.totp_enabled {
        return Err(ApiError::conflict(
            "mfa_already_enabled",
            "MFA is already active",
        ));
    }
    let Some(sealed) = principal.user.totp_secret.clone() else {
        return Err(ApiError::conflict(
            "mfa_not_enrolled",
            "call /api/me/mfa/enroll first",
        ));
    };
    let secret = state.secrets.open(&sealed)?;
    let Some(step) = mfa::check(&secret, &principal.user.email, &body.0.code)? else {
        return Err(ApiError::field(
            "code",
            "invalid_code",
            "the code is not valid",
        ));
    };
    let (codes, hashes) = mfa::generate_recovery_codes();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                User::update(
                    conn,
                    principal.id(),
                    &UserChanges {
                        totp_enabled: Some(true),
                        totp_last_step: Some(Some(step)),
                        updated_at: Some(db::now()),
                        ..UserChanges::default()
                    },
                )?;
                RecoveryCode::replace_all(conn, principal.id(), &hashes)?;
                audit_me(conn, &principal, "user.mfa_activate")
            })
        })
        .await?;
    Ok(web::Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Turns MFA off after confirming the password.
#[utoipa::path(post, path = "/api/me/mfa/disable", tag = "me",
    request_body = ChangePassword,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mfa_disable(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    check_current_password(&principal, body.0.current_password).await?;
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                User::update(
                    conn,
                    principal.id(),
                    &UserChanges {
                        totp_enabled: Some(false),
                        totp_secret: Some(None),
                        totp_last_step: Some(None),
                        updated_at: Some(db::now()),
                        ..UserChanges::default()
                    },
                )?;
                RecoveryCode::replace_all(conn, principal.id(), &[])?;
                audit_me(conn, &principal, "user.mfa_disable")
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
