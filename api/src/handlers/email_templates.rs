//! `/api/email-templates`: subject, HTML and text bodies and an HTML signature with
//! `{{variables}}`; unknown variables are refused at save time, `POST /{id}/preview` renders
//! with sample values.

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
use crate::email::template::{self, TemplateError};
use crate::error::{ApiError, ErrorBody, FieldError, QueryResultExt as _};
use crate::extract::Json;
use crate::models::email_template::{EmailTemplate, EmailTemplateChanges, NewEmailTemplate};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "email_template";
const NAME_TAKEN: &str = "an email template with this name exists in the call center";
const MAX_BODY: usize = 200_000;

/// A template as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailTemplateView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique in the call center.
    pub name: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html_body: String,
    /// Plain-text body.
    pub text_body: String,
    /// HTML signature appended to the HTML body.
    pub html_signature: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<EmailTemplate> for EmailTemplateView {
    fn from(t: EmailTemplate) -> Self {
        Self {
            id: t.id,
            call_center_id: t.call_center_id,
            name: t.name,
            subject: t.subject,
            html_body: t.html_body,
            text_body: t.text_body,
            html_signature: t.html_signature,
            created_at: utc(t.created_at),
            updated_at: utc(t.updated_at),
        }
    }
}

/// Body of `POST /api/email-templates`. Variables: `{{first_name}}`, `{{last_name}}`,
/// `{{company}}`, `{{confirm_url}}`, `{{email}}`, `{{phone}}` and `{{field.<name>}}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEmailTemplate {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Subject.
    #[schema(
        min_length = 1,
        max_length = 500,
        example = "Please confirm, {{first_name}}"
    )]
    pub subject: String,
    /// HTML body.
    #[schema(max_length = 200000)]
    pub html_body: String,
    /// Plain-text body.
    #[schema(max_length = 200000)]
    pub text_body: String,
    /// HTML signature.
    #[schema(max_length = 200000)]
    pub html_signature: Option<String>,
}

/// Body of `PATCH /api/email-templates/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEmailTemplate {
    /// New name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// New subject.
    #[schema(min_length = 1, max_length = 500)]
    pub subject: Option<String>,
    /// New HTML body.
    #[schema(max_length = 200000)]
    pub html_body: Option<String>,
    /// New text body.
    #[schema(max_length = 200000)]
    pub text_body: Option<String>,
    /// New signature; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 200000)]
    pub html_signature: Option<Option<String>>,
}

/// A template rendered with sample values.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// Subject.
    pub subject: String,
    /// HTML body with the signature, values HTML-escaped.
    pub html_body: String,
    /// Plain-text body.
    pub text_body: String,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailTemplateQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
}

/// Adds a field error per part of a template that is not valid.
fn check_template(v: &mut Validator, field: &str, text: &str) {
    match template::check(text) {
        Ok(()) => {}
        Err(TemplateError::Unknown(name)) => v.add(
            field,
            "unknown_variable",
            format!(
                "unknown variable `{{{{{name}}}}}`; known: {}, field.<name>",
                template::VARIABLES.join(", ")
            ),
        ),
        Err(e @ TemplateError::Unclosed) => v.add(field, "unclosed_variable", e.to_string()),
    }
}

fn validate_parts(
    v: &mut Validator,
    name: Option<&str>,
    subject: Option<&str>,
    html: Option<&str>,
    text: Option<&str>,
    signature: Option<&str>,
) {
    if let Some(name) = name {
        v.length("name", name, 1, 100);
        v.free_text("name", name, 100);
    }
    if let Some(subject) = subject {
        v.length("subject", subject, 1, 500);
        if subject.contains(['\r', '\n']) {
            v.add("subject", "invalid", "must be one line");
        }
        check_template(v, "subject", subject);
    }
    for (field, value) in [
        ("html_body", html),
        ("text_body", text),
        ("html_signature", signature),
    ] {
        if let Some(value) = value {
            v.length(field, value, 0, MAX_BODY);
            check_template(v, field, value);
        }
    }
}

/// Renders `t` with `values`: the subject and text as they are, the HTML escaped and followed
/// by the signature.
pub fn render(t: &EmailTemplate, values: &template::Values) -> Result<Preview, ApiError> {
    let broken = |e: TemplateError| {
        ApiError::Validation(vec![FieldError::new("template", "invalid", e.to_string())])
    };
    let mut html_body = template::render(&t.html_body, values, true).map_err(broken)?;
    if let Some(signature) = &t.html_signature {
        html_body.push_str(&template::render(signature, values, true).map_err(broken)?);
    }
    Ok(Preview {
        subject: template::render(&t.subject, values, false).map_err(broken)?,
        html_body,
        text_body: template::render(&t.text_body, values, false).map_err(broken)?,
    })
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<EmailTemplate, ApiError> {
    let t = EmailTemplate::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(t.call_center_id, ENTITY)?;
    Ok(t)
}

fn audit_template(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    id: i64,
    call_center_id: i64,
    before: Option<&EmailTemplateView>,
    after: Option<&EmailTemplateView>,
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

/// Lists email templates.
#[utoipa::path(get, path = "/api/email-templates", tag = "email",
    params(PageParams, EmailTemplateQuery),
    responses((status = 200, body = Page<EmailTemplateView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<EmailTemplateQuery>,
) -> Result<web::Json<Page<EmailTemplateView>>, ApiError> {
    principal.require(Resource::EmailTemplate, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let cc = principal.narrow_tenant(query.into_inner().call_center_id);
    let (rows, total) = state
        .db
        .run(move |conn| Ok(EmailTemplate::list(conn, cc, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one email template.
#[utoipa::path(get, path = "/api/email-templates/{id}", tag = "email",
    params(("id" = i64, Path, description = "Template id")),
    responses((status = 200, body = EmailTemplateView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<EmailTemplateView>, ApiError> {
    principal.require(Resource::EmailTemplate, Action::Read)?;
    let id = id.into_inner();
    let t = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(t.into()))
}

/// Creates an email template.
#[utoipa::path(post, path = "/api/email-templates", tag = "email",
    request_body = CreateEmailTemplate,
    responses((status = 201, body = EmailTemplateView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateEmailTemplate>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::EmailTemplate, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    validate_parts(
        &mut v,
        Some(&body.name),
        Some(&body.subject),
        Some(&body.html_body),
        Some(&body.text_body),
        body.html_signature.as_deref(),
    );
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let now = db::now();
                let row = EmailTemplate::create(
                    conn,
                    &NewEmailTemplate {
                        call_center_id,
                        name: &body.name,
                        subject: &body.subject,
                        html_body: &body.html_body,
                        text_body: &body.text_body,
                        html_signature: body.html_signature.as_deref(),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = EmailTemplateView::from(row);
                audit_template(
                    conn,
                    &principal,
                    "email_template.create",
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

/// Changes an email template.
#[utoipa::path(patch, path = "/api/email-templates/{id}", tag = "email",
    params(("id" = i64, Path, description = "Template id")),
    request_body = UpdateEmailTemplate,
    responses((status = 200, body = EmailTemplateView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateEmailTemplate>,
) -> Result<web::Json<EmailTemplateView>, ApiError> {
    principal.require(Resource::EmailTemplate, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    validate_parts(
        &mut v,
        body.name.as_deref(),
        body.subject.as_deref(),
        body.html_body.as_deref(),
        body.text_body.as_deref(),
        body.html_signature.as_ref().and_then(Option::as_deref),
    );
    v.finish()?;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = EmailTemplateView::from(visible(&principal, conn, id)?);
                let changes = EmailTemplateChanges {
                    name: body.name,
                    subject: body.subject,
                    html_body: body.html_body,
                    text_body: body.text_body,
                    html_signature: body.html_signature,
                    updated_at: Some(db::now()),
                };
                let after = EmailTemplateView::from(
                    EmailTemplate::update(conn, id, &changes)
                        .or_conflict("name_taken", NAME_TAKEN)?,
                );
                audit_template(
                    conn,
                    &principal,
                    "email_template.update",
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

/// Deletes an email template (emails rendered from it keep their content).
#[utoipa::path(delete, path = "/api/email-templates/{id}", tag = "email",
    params(("id" = i64, Path, description = "Template id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::EmailTemplate, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = EmailTemplateView::from(visible(&principal, conn, id)?);
                EmailTemplate::delete(conn, id)
                    .or_conflict("email_template_in_use", "the template is still referenced")?;
                audit_template(
                    conn,
                    &principal,
                    "email_template.delete",
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

/// Renders a template with sample values.
#[utoipa::path(post, path = "/api/email-templates/{id}/preview", tag = "email",
    params(("id" = i64, Path, description = "Template id")),
    responses((status = 200, body = Preview), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn preview(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<Preview>, ApiError> {
    principal.require(Resource::EmailTemplate, Action::Read)?;
    let id = id.into_inner();
    let t = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    let mut values = template::sample_values();
    // Every form field the template names gets a visible sample.
    for text in t.texts() {
        for name in template::names(text) {
            if let Some(field) = name.strip_prefix("field.") {
                values.insert(name.to_owned(), format!("<{field}>"));
            }
        }
    }
    Ok(web::Json(render(&t, &values)?))
}
