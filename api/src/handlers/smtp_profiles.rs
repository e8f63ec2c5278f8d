//! `/api/smtp-profiles`: the SMTP servers a call center sends email through. Passwords are
//! sealed at rest and never returned; `POST /{id}/test` sends a test email and reports the
//! server's answer.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::sites::target_call_center;
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::{self, DbConn};
use crate::email::smtp::{self, Email, SendError};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::models::smtp_profile::{NewSmtpProfile, SmtpProfile, SmtpProfileChanges};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "smtp_profile";
const NAME_TAKEN: &str = "an SMTP profile with this name exists in the call center";
/// Longest wait for each step of a test send.
const TEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No encryption (local relays only).
    None,
}

impl Security {
    fn as_str(self) -> &'static str {
        match self {
            Security::Starttls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "tls" => Security::Tls,
            "none" => Security::None,
            _ => Security::Starttls,
        }
    }
}

/// An SMTP profile as the API shows it (never the password).
#[derive(Debug, Serialize, ToSchema)]
pub struct SmtpProfileView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique in the call center.
    pub name: String,
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: i32,
    /// Connection security.
    pub security: Security,
    /// Auth user.
    pub username: Option<String>,
    /// Whether a password is stored.
    pub has_password: bool,
    /// Sender display name.
    pub from_name: Option<String>,
    /// Sender address.
    pub from_address: String,
    /// Reply-To address.
    pub reply_to: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<SmtpProfile> for SmtpProfileView {
    fn from(p: SmtpProfile) -> Self {
        Self {
            id: p.id,
            call_center_id: p.call_center_id,
            security: Security::parse(&p.security),
            has_password: p.password_enc.is_some(),
            name: p.name,
            host: p.host,
            port: p.port,
            username: p.username,
            from_name: p.from_name,
            from_address: p.from_address,
            reply_to: p.reply_to,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
        }
    }
}

/// Body of `POST /api/smtp-profiles`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSmtpProfile {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Name.
    #[schema(min_length = 1, max_length = 100, example = "Brevo")]
    pub name: String,
    /// Server host name or IP address.
    #[schema(min_length = 1, max_length = 253, example = "smtp-relay.example.com")]
    pub host: String,
    /// Server port (default 587).
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    /// Connection security (default `starttls`).
    pub security: Option<Security>,
    /// Auth user.
    #[schema(max_length = 254)]
    pub username: Option<String>,
    /// Auth password (stored encrypted, never returned).
    #[schema(max_length = 256)]
    pub password: Option<String>,
    /// Sender display name.
    #[schema(max_length = 100)]
    pub from_name: Option<String>,
    /// Sender address.
    #[schema(format = "email", max_length = 254)]
    pub from_address: String,
    /// Reply-To address.
    #[schema(format = "email", max_length = 254)]
    pub reply_to: Option<String>,
}

impl std::fmt::Debug for CreateSmtpProfile {
    // Hand-written so that the password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSmtpProfile")
            .field("name", &self.name)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// Body of `PATCH /api/smtp-profiles/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSmtpProfile {
    /// New name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// New host.
    #[schema(min_length = 1, max_length = 253)]
    pub host: Option<String>,
    /// New port.
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<u16>,
    /// New security.
    pub security: Option<Security>,
    /// New user; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 254)]
    pub username: Option<Option<String>>,
    /// New password; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 256)]
    pub password: Option<Option<String>>,
    /// New sender name; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 100)]
    pub from_name: Option<Option<String>>,
    /// New sender address.
    #[schema(format = "email", max_length = 254)]
    pub from_address: Option<String>,
    /// New Reply-To; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, format = "email", max_length = 254)]
    pub reply_to: Option<Option<String>>,
}

impl std::fmt::Debug for UpdateSmtpProfile {
    // Hand-written so that the password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateSmtpProfile")
            .field("name", &self.name)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// Body of `POST /api/smtp-profiles/{id}/test`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSend {
    /// Recipient of the test email.
    #[schema(format = "email", max_length = 254)]
    pub to: String,
}

/// Result of a test send that the server accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    /// Always true (a refusal is a 502).
    pub accepted: bool,
    /// The server's final answer, e.g. `250 2.0.0 Ok: queued`.
    pub response: String,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SmtpProfileQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
}

fn validate_host(v: &mut Validator, host: &str) {
    let ok = (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !ok {
        v.add(
            "host",
            "invalid_host",
            "must be a host name or an IP address",
        );
    }
}

/// 404 unless the profile exists in the caller's tenant.
pub fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<SmtpProfile, ApiError> {
    let profile = SmtpProfile::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(profile.call_center_id, ENTITY)?;
    Ok(profile)
}

fn audit_profile(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    id: i64,
    call_center_id: i64,
    before: Option<&SmtpProfileView>,
    after: Option<&SmtpProfileView>,
) -> Result<(), ApiError> {
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: ENTITY,
            entity_id: id.to_string(),
            call_center_id: Some(call_center_id),
            before,
            after,
        },
    )
}

/// Lists SMTP profiles.
#[utoipa::path(get, path = "/api/smtp-profiles", tag = "email",
    params(PageParams, SmtpProfileQuery),
    responses((status = 200, body = Page<SmtpProfileView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<SmtpProfileQuery>,
) -> Result<web::Json<Page<SmtpProfileView>>, ApiError> {
    principal.require(Resource::SmtpProfile, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let cc = principal.narrow_tenant(query.into_inner().call_center_id);
    let (rows, total) = state
        .db
        .run(move |conn| Ok(SmtpProfile::list(conn, cc, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one SMTP profile.
#[utoipa::path(get, path = "/api/smtp-profiles/{id}", tag = "email",
    params(("id" = i64, Path, description = "SMTP profile id")),
    responses((status = 200, body = SmtpProfileView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<SmtpProfileView>, ApiError> {
    principal.require(Resource::SmtpProfile, Action::Read)?;
    let id = id.into_inner();
    let profile = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(profile.into()))
}

/// Creates an SMTP profile.
#[utoipa::path(post, path = "/api/smtp-profiles", tag = "email",
    request_body = CreateSmtpProfile,
    responses((status = 201, body = SmtpProfileView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateSmtpProfile>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::SmtpProfile, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    v.free_text("name", &body.name, 100);
    v.length("name", &body.name, 1, 100);
    validate_host(&mut v, &body.host);
    if body.port == Some(0) {
        v.add("port", "out_of_range", "must be between 1 and 65535");
    }
    if let Some(user) = &body.username {
        v.length("username", user, 1, 254);
    }
    if let Some(pw) = &body.password {
        v.length("password", pw, 1, 256);
    }
    if let Some(name) = &body.from_name {
        v.free_text("from_name", name, 100);
    }
    v.email("from_address", &body.from_address);
    if let Some(reply_to) = &body.reply_to {
        v.email("reply_to", reply_to);
    }
    v.finish()?;
    let sealed = body.password.as_deref().map(|pw| state.secrets.seal(pw));
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let now = db::now();
                let row = SmtpProfile::create(
                    conn,
                    &NewSmtpProfile {
                        call_center_id,
                        name: &body.name,
                        host: &body.host,
                        port: i32::from(body.port.unwrap_or(587)),
                        security: body.security.unwrap_or(Security::Starttls).as_str(),
                        username: body.username.as_deref(),
                        password_enc: sealed,
                        from_name: body.from_name.as_deref(),
                        from_address: &body.from_address,
                        reply_to: body.reply_to.as_deref(),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = SmtpProfileView::from(row);
                audit_profile(
                    conn,
                    &principal,
                    "smtp_profile.create",
                    view.id,
                    call_center_id,
                    None,
                    Some(&view),
                )?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes an SMTP profile.
#[utoipa::path(patch, path = "/api/smtp-profiles/{id}", tag = "email",
    params(("id" = i64, Path, description = "SMTP profile id")),
    request_body = UpdateSmtpProfile,
    responses((status = 200, body = SmtpProfileView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateSmtpProfile>,
) -> Result<web::Json<SmtpProfileView>, ApiError> {
    principal.require(Resource::SmtpProfile, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if let Some(name) = &body.name {
        v.free_text("name", name, 100);
        v.length("name", name, 1, 100);
    }
    if let Some(host) = &body.host {
        validate_host(&mut v, host);
    }
    if body.port == Some(0) {
        v.add("port", "out_of_range", "must be between 1 and 65535");
    }
    if let Some(Some(user)) = &body.username {
        v.length("username", user, 1, 254);
    }
    if let Some(Some(pw)) = &body.password {
        v.length("password", pw, 1, 256);
    }
    if let Some(Some(name)) = &body.from_name {
        v.free_text("from_name", name, 100);
    }
    if let Some(from) = &body.from_address {
        v.email("from_address", from);
    }
    if let Some(Some(reply_to)) = &body.reply_to {
        v.email("reply_to", reply_to);
    }
    v.finish()?;
    let sealed = body
        .password
        .as_ref()
        .map(|pw| pw.as_deref().map(|pw| state.secrets.seal(pw)));
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = SmtpProfileView::from(visible(&principal, conn, id)?);
                let changes = SmtpProfileChanges {
                    name: body.name,
                    host: body.host,
                    port: body.port.map(i32::from),
                    security: body.security.map(|s| s.as_str().to_owned()),
                    username: body.username,
                    password_enc: sealed,
                    from_name: body.from_name,
                    from_address: body.from_address,
                    reply_to: body.reply_to,
                    updated_at: Some(db::now()),
                };
                let after = SmtpProfileView::from(
                    SmtpProfile::update(conn, id, &changes)
                        .or_conflict("name_taken", NAME_TAKEN)?,
                );
                audit_profile(
                    conn,
                    &principal,
                    "smtp_profile.update",
                    id,
                    after.call_center_id,
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes an SMTP profile (409 while the outbox holds emails sent through it).
#[utoipa::path(delete, path = "/api/smtp-profiles/{id}", tag = "email",
    params(("id" = i64, Path, description = "SMTP profile id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::SmtpProfile, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = SmtpProfileView::from(visible(&principal, conn, id)?);
                SmtpProfile::delete(conn, id).or_conflict(
                    "smtp_profile_in_use",
                    "emails in the outbox were sent through this profile",
                )?;
                audit_profile(
                    conn,
                    &principal,
                    "smtp_profile.delete",
                    id,
                    before.call_center_id,
                    Some(&before),
                    None,
                )
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends a test email now and reports the server's answer; a refusal or an unreachable server
/// is a 502 carrying what went wrong.
#[utoipa::path(post, path = "/api/smtp-profiles/{id}/test", tag = "email",
    params(("id" = i64, Path, description = "SMTP profile id")),
    request_body = TestSend,
    responses((status = 200, body = TestResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn test(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<TestSend>,
) -> Result<web::Json<TestResult>, ApiError> {
    // Sending is acting on the profile: the same right as changing it.
    principal.require(Resource::SmtpProfile, Action::Update)?;
    let id = id.into_inner();
    let to = body.0.to;
    let mut v = Validator::new();
    v.email("to", &to);
    v.finish()?;
    let profile = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    let password = match &profile.password_enc {
        Some(sealed) => Some(state.secrets.open(sealed)?),
        None => None,
    };
    let outcome = async {
        let transport = smtp::transport(&profile, password, TEST_TIMEOUT)?;
        let message_id = smtp::new_message_id(&profile.from_address);
        let subject = format!("callpro test email ({})", profile.name);
        let text = format!(
            "This test email was sent by callpro through the SMTP profile \"{}\".",
            profile.name
        );
        let mut html =
            String::from("<p>This test email was sent by callpro through the SMTP profile &quot;");
        crate::email::template::escape_into(&mut html, &profile.name);
        html.push_str("&quot;.</p>");
        let email = Email {
            to: &to,
            subject: &subject,
            html: &html,
            text: &text,
            message_id: &message_id,
        };
        smtp::send(&transport, &profile, &email).await
    };
    // lettre's timeout covers each command; this bounds the whole exchange.
    let outcome = match tokio::time::timeout(TEST_TIMEOUT * 2, outcome).await {
        Ok(outcome) => outcome,
        Err(_) => Err(SendError::Temporary("the SMTP exchange timed out".into())),
    };
    match outcome {
        Ok(response) => Ok(web::Json(TestResult {
            accepted: true,
            response,
        })),
        Err(SendError::Invalid(message)) => Err(ApiError::field("profile", "invalid", message)),
        Err(e) => Err(ApiError::BadGateway {
            code: "smtp_failed",
            message: format!("the SMTP server did not accept the email: {e}"),
        }),
    }
}
