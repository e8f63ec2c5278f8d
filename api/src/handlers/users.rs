//! `/api/users`: accounts, roles, tenancy, sites and SIP extensions.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::sites::target_call_center;
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::{Principal, password, refresh};
use crate::authz::{Action, Resource};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::models::site::Site;
use crate::models::user::{NewUser, Role, User, UserChanges, UserFilter};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "user";

/// A user as the API shows it (never the password hash or MFA secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Tenant (`null` for super admins).
    pub call_center_id: Option<i64>,
    /// Site.
    pub site_id: Option<i64>,
    /// SIP extension.
    pub sip_extension: Option<String>,
    /// Inactive users cannot log in.
    pub active: bool,
    /// Whether a second factor is required at login.
    pub mfa_enabled: bool,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role(),
            call_center_id: u.call_center_id,
            site_id: u.site_id,
            sip_extension: u.sip_extension.clone(),
            active: u.active,
            mfa_enabled: u.totp_enabled,
            last_login_at: u.last_login_at.map(utc),
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}

/// Answer of `POST /api/users`: the user, and the generated password when one was asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    /// The new user.
    pub user: UserView,
    /// Shown once; present only when the password was generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

/// Body of `POST /api/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login email (unique).
    #[schema(format = Email, example = "agent@example.com")]
    pub email: String,
    /// Name shown to others.
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Tenant; defaults to the caller's own (must be absent for super admins).
    pub call_center_id: Option<i64>,
    /// Site in the same call center.
    pub site_id: Option<i64>,
    /// SIP extension, unique in the call center.
    #[schema(pattern = "^[0-9]{2,20}$")]
    pub sip_extension: Option<String>,
    /// Password (12+ characters); omit it to have one generated and returned once.
    #[schema(min_length = 12, max_length = 256)]
    pub password: Option<String>,
}

/// Body of `PATCH /api/users/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New email.
    #[schema(format = Email, example = "agent@example.com")]
    pub email: Option<String>,
    /// New name.
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New site; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, nullable)]
    pub site_id: Option<Option<i64>>,
    /// New extension; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub sip_extension: Option<Option<String>>,
    /// Activate or deactivate (deactivation ends the user's sessions).
    pub active: Option<bool>,
    /// New password (ends the user's sessions).
    #[schema(min_length = 12, max_length = 256)]
    pub password: Option<String>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this site.
    pub site_id: Option<i64>,
    /// Only members of this group.
    pub group_id: Option<i64>,
    /// Only this role.
    pub role: Option<Role>,
    /// Only active or inactive users.
    pub active: Option<bool>,
    /// Email or name contains (case-insensitive).
    pub q: Option<String>,
}

fn validate_password(v: &mut Validator, field: &str, value: &str) {
    v.length(field, value, password::MIN_LEN, password::MAX_LEN);
}

/// Loads a user the caller may see (404 otherwise).
fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<User, ApiError> {
    let user = User::find(conn, id).or_not_found(ENTITY)?;
    if principal.sees_user(&user) {
        Ok(user)
    } else {
        Err(ApiError::NotFound(ENTITY))
    }
}

/// 422 unless the site exists in `call_center_id`.
fn check_site(
    conn: &mut DbConn,
    site_id: i64,
    call_center_id: Option<i64>,
) -> Result<(), ApiError> {
    match Site::find(conn, site_id) {
        Ok(site) if Some(site.call_center_id) == call_center_id => Ok(()),
        _ => Err(ApiError::field(
            "site_id",
            "not_found",
            "no such site in the user's call center",
        )),
    }
}

/// 409 when the email already belongs to someone else.
fn check_email_free(conn: &mut DbConn, email: &str, except: Option<i64>) -> Result<(), ApiError> {
    match User::find_by_email(conn, email)? {
        Some(other) if Some(other.id) != except => Err(ApiError::conflict(
            "email_taken",
            "another user has this email",
        )),
        _ => Ok(()),
    }
}

const EXTENSION_TAKEN: &str = "another user of the call center has this email or extension";

fn audit_user(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    user_id: i64,
    call_center_id: Option<i64>,
    before: Option<&UserView>,
    after: Option<&UserView>,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: ENTITY,
            entity_id: user_id.to_string(),
            call_center_id,
            before,
            after,
        },
    )
}

/// Lists the users the caller may see.
#[utoipa::path(get, path = "/api/users", tag = "users",
    params(PageParams, UserQuery),
    responses((status = 200, body = Page<UserView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<UserQuery>,
) -> Result<web::Json<Page<UserView>>, ApiError> {
    principal.require(Resource::User, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let mut filter = UserFilter {
        call_center_id: query.call_center_id,
        site_id: query.site_id,
        group_id: query.group_id,
        roles: query.role.map(|r| vec![r]),
        ids: None,
        active: query.active,
        q: query.q,
    };
    let asked_role = query.role;
    principal.scope_users(&mut filter);
    filter.call_center_id = principal.narrow_tenant(query.call_center_id);
    if let Some(role) = asked_role {
        // Keep the scope's role restriction and narrow it to the asked role.
        filter.roles = Some(
            filter
                .roles
                .unwrap_or_else(|| vec![role])
                .into_iter()
                .filter(|r| *r == role)
                .collect(),
        );
    }
    let (rows, total) = state
        .db
        .run(move |conn| Ok(User::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(rows, total, page, per_page, |u| {
        UserView::from(&u)
    })))
}

/// Reads one user.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<UserView>, ApiError> {
    principal.require(Resource::User, Action::Read)?;
    let id = id.into_inner();
    let user = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(UserView::from(&user)))
}

/// Creates a user; the password is generated and returned once when none is given.
#[utoipa::path(post, path = "/api/users", tag = "users",
    request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::User, Action::Create)?;
    let body = body.0;
    if !principal.may_assign(body.role) {
        return Err(ApiError::Forbidden);
    }
    let email = body.email.trim().to_lowercase();
    let mut v = Validator::new();
    v.email("email", &email);
    v.length("display_name", &body.display_name, 1, 200);
    if let Some(ext) = &body.sip_extension {
        v.extension("sip_extension", ext);
    }
    if let Some(pw) = &body.password {
        validate_password(&mut v, "password", pw);
    }
    if body.role == Role::SuperAdmin && (body.call_center_id.is_some() || body.site_id.is_some()) {
        v.add(
            "call_center_id",
            "not_allowed",
            "super admins belong to no call center",
        );
    }
    v.finish()?;
    let generated = body.password.is_none().then(password::generate);
    let plain = body
        .password
        .clone()
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let hash = web::block(move || password::hash(&plain))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = if body.role == Role::SuperAdmin {
                    None
                } else {
                    Some(target_call_center(&principal, body.call_center_id, conn)?)
                };
                if let Some(site_id) = body.site_id {
                    check_site(conn, site_id, call_center_id)?;
                }
                check_email_free(conn, &email, None)?;
                let now = db::now();
                let user = User::create(
                    conn,
                    &NewUser {
                        email: &email,
                        display_name: body.display_name.trim(),
                        password_hash: &hash,
                        role: body.role.as_str(),
                        call_center_id,
                        site_id: body.site_id,
                        sip_extension: body.sip_extension.as_deref(),
                        active: true,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("extension_taken", EXTENSION_TAKEN)?;
                let view = UserView::from(&user);
                audit_user(
                    conn,
                    &principal,
                    "user.create",
                    user.id,
                    call_center_id,
                    None,
                    Some(&view),
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedUser {
        user: view,
        generated_password: generated,
    }))
}

/// Changes a user.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UpdateUser,
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateUser>,
) -> Result<web::Json<UserView>, ApiError> {
    principal.require(Resource::User, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    if body.role.is_some_and(|r| !principal.may_assign(r)) {
        return Err(ApiError::Forbidden);
    }
    let email = body.email.as_deref().map(|e| e.trim().to_lowercase());
    let mut v = Validator::new();
    if let Some(email) = &email {
        v.email("email", email);
    }
    if let Some(name) = &body.display_name {
        v.length("display_name", name, 1, 200);
    }
    if let Some(Some(ext)) = &body.sip_extension {
        v.extension("sip_extension", ext);
    }
    if let Some(pw) = &body.password {
        validate_password(&mut v, "password", pw);
    }
    v.finish()?;
    let hash = match body.password.clone() {
        Some(pw) => Some(
            web::block(move || password::hash(&pw))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))??,
        ),
        None => None,
    };
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let target = visible(&principal, conn, id)?;
                let self_edit = target.id == principal.id();
                if self_edit
                    && (body.role.is_some_and(|r| r != target.role()) || body.active == Some(false))
                {
                    return Err(ApiError::conflict(
                        "cannot_modify_self",
                        "you cannot change your own role or deactivate yourself",
                    ));
                }
                if !principal.may_assign(target.role()) {
                    return Err(ApiError::Forbidden);
                }
                if let Some(role) = body.role
                    && (role == Role::SuperAdmin) != (target.role() == Role::SuperAdmin)
                {
                    return Err(ApiError::field(
                        "role",
                        "not_allowed",
                        "a user cannot move between super admin and call-center roles",
                    ));
                }
                if let Some(Some(site_id)) = body.site_id {
                    check_site(conn, site_id, target.call_center_id)?;
                }
                if let Some(email) = &email {
                    check_email_free(conn, email, Some(id))?;
                }
                let before = UserView::from(&target);
                let ends_sessions = hash.is_some() || body.active == Some(false);
                let changes = UserChanges {
                    email,
                    display_name: body.display_name.map(|n| n.trim().to_string()),
                    password_hash: hash,
                    role: body.role.map(|r| r.as_str().to_string()),
                    site_id: body.site_id,
                    sip_extension: body.sip_extension,
                    active: body.active,
                    updated_at: Some(db::now()),
                    ..UserChanges::default()
                };
                let user = User::update(conn, id, &changes)
                    .or_conflict("extension_taken", EXTENSION_TAKEN)?;
                if ends_sessions {
                    refresh::revoke_user(conn, id, db::now())?;
                }
                let after = UserView::from(&user);
                audit_user(
                    conn,
                    &principal,
                    "user.update",
                    id,
                    user.call_center_id,
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a user (not yourself).
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::User, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let target = visible(&principal, conn, id)?;
                if target.id == principal.id() {
                    return Err(ApiError::conflict(
                        "cannot_modify_self",
                        "you cannot delete yourself",
                    ));
                }
                if !principal.may_assign(target.role()) {
                    return Err(ApiError::Forbidden);
                }
                let before = UserView::from(&target);
                User::delete(conn, id)
                    .or_conflict("user_in_use", "the user is still referenced")?;
                audit_user(
                    conn,
                    &principal,
                    "user.delete",
                    id,
                    target.call_center_id,
                    Some(&before),
                    None,
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A freshly issued SIP password, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SipSecretView {
    /// The user.
    pub user_id: i64,
    /// Their SIP extension: also the SIP user name of their phone.
    pub extension: String,
    /// The new SIP password. Stored sealed; render Asterisk's configuration again
    /// (`callpro asterisk-config`) for it to take effect.
    pub secret: String,
}

/// Issues a new SIP password for a user's phone (the old one stops working once Asterisk's
/// configuration is rendered again). Users may rotate their own; owners and super admins
/// anyone's they manage.
#[utoipa::path(post, path = "/api/users/{id}/sip-secret", tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = SipSecretView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_sip_secret(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<SipSecretView>, ApiError> {
    let id = id.into_inner();
    if id != principal.id() {
        principal.require(Resource::User, Action::Update)?;
    }
    let secrets = state.secrets.clone();
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let target = visible(&principal, conn, id)?;
                if target.id != principal.id() && !principal.may_assign(target.role()) {
                    return Err(ApiError::Forbidden);
                }
                let Some(extension) = target.sip_extension.clone() else {
                    return Err(ApiError::conflict(
                        "no_extension",
                        "this user has no SIP extension",
                    ));
                };
                let secret = crate::asterisk::rotate_sip_secret(conn, &secrets, id)?;
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "user.sip_secret.rotate",
                        entity: ENTITY,
                        entity_id: id.to_string(),
                        call_center_id: target.call_center_id,
                        before: None::<&serde_json::Value>,
                        after: Some(&serde_json::json!({ "extension": extension })),
                    },
                )?;
                Ok(SipSecretView {
                    user_id: id,
                    extension,
                    secret,
                })
            })
        })
        .await?;
    Ok(web::Json(view))
}
