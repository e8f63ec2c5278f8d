//! `/api/forms`: public lead forms, their field rules and what follows a submission.
//!
//! Rules checked on every create and change, on the form as it would be stored (422 naming
//! the field):
//!
//! - `name`: 1 to 100 characters, unique in the center (409 `name_taken`).
//! - `slug`: 2 to 64 of `a-z`, `0-9` and `-`, starting with a letter or digit; unique across
//!   all centers, as it is the public address `/f/<slug>` (409 `slug_taken`).
//! - `fields`: the rules of [`crate::intake::form::check_fields`]; a required `phone` field
//!   (the lead is called back).
//! - `double_opt_in` needs an `smtp_profile_id`, an `email_template_id` and a required
//!   `email` field; the template may only name `field.<name>` variables the form defines.
//! - The SMTP profile, template, confirmation campaign and agent group belong to the form's
//!   center.
//! - `distribution`: `round_robin` or `weighted`; `max_open_leads`: 1 to 10,000.
//! - `redirect_url`, `confirmed_redirect_url`: absolute `http(s)` URLs.
//!
//! `GET /api/forms/{id}/preview` answers the HTML page `/f/<slug>` serves.

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
use crate::email::template;
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::intake::form::{self as rules, FieldSpec, FieldType};
use crate::models::campaign::Campaign;
use crate::models::email_template::EmailTemplate;
use crate::models::form::{Form, FormChanges, NewForm};
use crate::models::group::Group;
use crate::models::smtp_profile::SmtpProfile;
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "form";
const NAME_TAKEN: &str = "a form with this name exists in the call center";
const SLUG_TAKEN: &str = "another form already uses this public address";
const DEFAULT_MAX_OPEN: i32 = 50;

/// How a form's leads are spread over its agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// The agent assigned longest ago goes next.
    RoundRobin,
    /// In proportion to each agent's confirmation rate over 30 days.
    Weighted,
}

impl Distribution {
    fn as_str(self) -> &'static str {
        match self {
            Distribution::RoundRobin => "round_robin",
            Distribution::Weighted => "weighted",
        }
    }
}

/// A form as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique in the center.
    pub name: String,
    /// Public address `/f/<slug>`.
    pub slug: String,
    /// Fields and their rules.
    pub fields: Vec<FieldSpec>,
    /// SMTP profile of the double opt-in email.
    pub smtp_profile_id: Option<i64>,
    /// Template of the double opt-in email.
    pub email_template_id: Option<i64>,
    /// Whether leads confirm by email before they are assigned.
    pub double_opt_in: bool,
    /// Campaign that calls confirmed leads.
    pub confirmation_campaign_id: Option<i64>,
    /// Agents eligible for its leads (all agents of the center when unset).
    pub agent_group_id: Option<i64>,
    /// How leads are spread.
    #[schema(value_type = Distribution)]
    pub distribution: String,
    /// Open leads an agent may hold.
    pub max_open_leads: i32,
    /// Where the browser goes after a submission.
    pub redirect_url: Option<String>,
    /// Where the browser goes after confirming.
    pub confirmed_redirect_url: Option<String>,
    /// Consent text shown on the form.
    pub consent_text: Option<String>,
    /// Whether it accepts submissions.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Form> for FormView {
    fn from(f: Form) -> Self {
        Self {
            id: f.id,
            call_center_id: f.call_center_id,
            fields: parse_fields(&f.fields),
            name: f.name,
            slug: f.slug,
            smtp_profile_id: f.smtp_profile_id,
            email_template_id: f.email_template_id,
            double_opt_in: f.double_opt_in,
            confirmation_campaign_id: f.confirmation_campaign_id,
            agent_group_id: f.agent_group_id,
            distribution: f.distribution,
            max_open_leads: f.max_open_leads,
            redirect_url: f.redirect_url,
            confirmed_redirect_url: f.confirmed_redirect_url,
            consent_text: f.consent_text,
            active: f.active,
            created_at: utc(f.created_at),
            updated_at: utc(f.updated_at),
        }
    }
}

/// The stored field definitions (checked when saved; empty if the column was edited by hand
/// into something unreadable).
pub fn parse_fields(json: &str) -> Vec<FieldSpec> {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::error!(error = %e, "stored form fields are unreadable");
        Vec::new()
    })
}

/// Body of `POST /api/forms`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// Name, unique in the center.
    #[schema(
        min_length = 1,
        max_length = 100,
        example = "Solar panels — landing page"
    )]
    pub name: String,
    /// Public address `/f/<slug>`.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,63}$", example = "solar-2026")]
    pub slug: String,
    /// Fields and their rules.
    pub fields: Vec<FieldSpec>,
    /// SMTP profile of the double opt-in email.
    pub smtp_profile_id: Option<i64>,
    /// Template of the double opt-in email.
    pub email_template_id: Option<i64>,
    /// Leads confirm by email before they are assigned (default true).
    pub double_opt_in: Option<bool>,
    /// Campaign that calls confirmed leads.
    pub confirmation_campaign_id: Option<i64>,
    /// Agents eligible for its leads.
    pub agent_group_id: Option<i64>,
    /// How leads are spread (default round robin).
    pub distribution: Option<Distribution>,
    /// Open leads an agent may hold (default 50).
    #[schema(minimum = 1, maximum = 10000)]
    pub max_open_leads: Option<i32>,
    /// Where the browser goes after a submission.
    pub redirect_url: Option<String>,
    /// Where the browser goes after confirming.
    pub confirmed_redirect_url: Option<String>,
    /// Consent text shown on the form.
    #[schema(max_length = 5000)]
    pub consent_text: Option<String>,
    /// Accepting submissions (default true).
    pub active: Option<bool>,
}

/// Body of `PATCH /api/forms/{id}`: what is given changes; `null` clears an optional value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateForm {
    /// New name.
    pub name: Option<String>,
    /// New public address.
    pub slug: Option<String>,
    /// New fields.
    pub fields: Option<Vec<FieldSpec>>,
    /// SMTP profile.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub smtp_profile_id: Option<Option<i64>>,
    /// Template.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub email_template_id: Option<Option<i64>>,
    /// Double opt-in.
    pub double_opt_in: Option<bool>,
    /// Confirmation campaign.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub confirmation_campaign_id: Option<Option<i64>>,
    /// Agent group.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub agent_group_id: Option<Option<i64>>,
    /// Distribution.
    pub distribution: Option<Distribution>,
    /// Open-lead cap.
    pub max_open_leads: Option<i32>,
    /// Redirect after submit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub redirect_url: Option<Option<String>>,
    /// Redirect after confirmation.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub confirmed_redirect_url: Option<Option<String>>,
    /// Consent text.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub consent_text: Option<Option<String>>,
    /// Accepting submissions.
    pub active: Option<bool>,
}

/// Filters of the form list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
}

/// A form as it would be stored: what the rules are checked on.
#[derive(Debug, Clone)]
struct Draft {
    call_center_id: i64,
    name: String,
    slug: String,
    fields: Vec<FieldSpec>,
    smtp_profile_id: Option<i64>,
    email_template_id: Option<i64>,
    double_opt_in: bool,
    confirmation_campaign_id: Option<i64>,
    agent_group_id: Option<i64>,
    distribution: Distribution,
    max_open_leads: i32,
    redirect_url: Option<String>,
    confirmed_redirect_url: Option<String>,
    consent_text: Option<String>,
    active: bool,
}

impl Draft {
    fn from_stored(f: &Form) -> Self {
        Self {
            call_center_id: f.call_center_id,
            name: f.name.clone(),
            slug: f.slug.clone(),
            fields: parse_fields(&f.fields),
            smtp_profile_id: f.smtp_profile_id,
            email_template_id: f.email_template_id,
            double_opt_in: f.double_opt_in,
            confirmation_campaign_id: f.confirmation_campaign_id,
            agent_group_id: f.agent_group_id,
            distribution: if f.distribution == "weighted" {
                Distribution::Weighted
            } else {
                Distribution::RoundRobin
            },
            max_open_leads: f.max_open_leads,
            redirect_url: f.redirect_url.clone(),
            confirmed_redirect_url: f.confirmed_redirect_url.clone(),
            consent_text: f.consent_text.clone(),
            active: f.active,
        }
    }

    fn apply(&mut self, patch: UpdateForm) {
        let UpdateForm {
            name,
            slug,
            fields,
            smtp_profile_id,
            email_template_id,
            double_opt_in,
            confirmation_campaign_id,
            agent_group_id,
            distribution,
            max_open_leads,
            redirect_url,
            confirmed_redirect_url,
            consent_text,
            active,
        } = patch;
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *slot = value;
            }
        }
        set(&mut self.name, name);
        set(&mut self.slug, slug);
        set(&mut self.fields, fields);
        set(&mut self.smtp_profile_id, smtp_profile_id);
        set(&mut self.email_template_id, email_template_id);
        set(&mut self.double_opt_in, double_opt_in);
        set(&mut self.confirmation_campaign_id, confirmation_campaign_id);
        set(&mut self.agent_group_id, agent_group_id);
        set(&mut self.distribution, distribution);
        set(&mut self.max_open_leads, max_open_leads);
        set(&mut self.redirect_url, redirect_url);
        set(&mut self.confirmed_redirect_url, confirmed_redirect_url);
        set(&mut self.consent_text, consent_text);
        set(&mut self.active, active);
    }

    /// The rules that need no database.
    fn check_shape(&self, v: &mut Validator) {
        v.length("name", &self.name, 1, 100);
        let slug_ok = (2..=64).contains(&self.slug.len())
            && self
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.slug.starts_with('-');
        if !slug_ok {
            v.add(
                "slug",
                "invalid_slug",
                "must be 2 to 64 of a-z, 0-9 and -, not starting with -",
            );
        }
        for e in rules::check_fields(&self.fields) {
            v.add(&e.field, &e.code, e.message);
        }
        let field = |name: &str| self.fields.iter().find(|f| f.name == name);
        if !field("phone").is_some_and(|f| f.required && f.kind == FieldType::Phone) {
            v.add(
                "fields",
                "phone_field_required",
                "a form needs a required `phone` field: every lead is called back",
            );
        }
        if self.double_opt_in {
            if !field("email").is_some_and(|f| f.required && f.kind == FieldType::Email) {
                v.add(
                    "fields",
                    "email_field_required",
                    "double opt-in needs a required `email` field",
                );
            }
            if self.smtp_profile_id.is_none() {
                v.add(
                    "smtp_profile_id",
                    "required",
                    "double opt-in needs an SMTP profile",
                );
            }
            if self.email_template_id.is_none() {
                v.add(
                    "email_template_id",
                    "required",
                    "double opt-in needs an email template",
                );
            }
        }
        if !(1..=10_000).contains(&self.max_open_leads) {
            v.add(
                "max_open_leads",
                "out_of_range",
                "must be between 1 and 10000",
            );
        }
        for (name, url) in [
            ("redirect_url", &self.redirect_url),
            ("confirmed_redirect_url", &self.confirmed_redirect_url),
        ] {
            if let Some(url) = url {
                let ok = url.len() <= 2000
                    && (url.starts_with("https://") || url.starts_with("http://"))
                    && !url.chars().any(|c| c.is_whitespace() || c.is_control());
                if !ok {
                    v.add(name, "invalid_url", "must be an absolute http(s) URL");
                }
            }
        }
        if let Some(text) = &self.consent_text {
            v.free_text("consent_text", text, 5000);
        }
    }

    /// The rules about the objects the form names: they exist in its center, and the template
    /// only uses fields the form has.
    fn check_references(&self, conn: &mut DbConn, v: &mut Validator) -> Result<(), ApiError> {
        let cc = self.call_center_id;
        let missing = |v: &mut Validator, field: &str| {
            v.add(
                field,
                "not_found",
                "no such object in the form's call center",
            )
        };
        if let Some(id) = self.smtp_profile_id
            && !SmtpProfile::find(conn, id).is_ok_and(|p| p.call_center_id == cc)
        {
            missing(v, "smtp_profile_id");
        }
        if let Some(id) = self.confirmation_campaign_id {
            match Campaign::find(conn, id) {
                Ok(c) if c.call_center_id == cc => {
                    if !matches!(c.mode.as_str(), "preview" | "progressive") {
                        v.add(
                            "confirmation_campaign_id",
                            "wrong_mode",
                            "a confirmation campaign dials in preview or progressive mode",
                        );
                    }
                }
                _ => missing(v, "confirmation_campaign_id"),
            }
        }
        if let Some(id) = self.agent_group_id
            && !Group::find(conn, id).is_ok_and(|g| g.call_center_id == cc)
        {
            missing(v, "agent_group_id");
        }
        if let Some(id) = self.email_template_id {
            match EmailTemplate::find(conn, id) {
                Ok(t) if t.call_center_id == cc => {
                    for text in t.texts() {
                        for name in template::names(text) {
                            if let Some(field) = name.strip_prefix("field.")
                                && !self.fields.iter().any(|f| f.name == field)
                            {
                                v.add(
                                    "email_template_id",
                                    "unknown_variable",
                                    format!("the template uses {{{{{name}}}}}, which this form does not have"),
                                );
                            }
                        }
                    }
                }
                _ => missing(v, "email_template_id"),
            }
        }
        Ok(())
    }

    fn fields_json(&self) -> Result<String, ApiError> {
        serde_json::to_string(&self.fields)
            .map_err(|e| ApiError::internal(format!("form fields json: {e}")))
    }
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Form, ApiError> {
    let f = Form::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(f.call_center_id, ENTITY)?;
    Ok(f)
}

/// 409 `slug_taken` when another form has `slug`.
fn check_slug_free(conn: &mut DbConn, slug: &str, own: Option<i64>) -> Result<(), ApiError> {
    match Form::by_slug(conn, slug) {
        Ok(other) if Some(other.id) != own => Err(ApiError::conflict("slug_taken", SLUG_TAKEN)),
        Ok(_) | Err(diesel::result::Error::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn audit_form(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    before: Option<&FormView>,
    after: Option<&FormView>,
) -> Result<(), ApiError> {
    let Some(view) = after.or(before) else {
        return Ok(());
    };
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: ENTITY,
            entity_id: view.id.to_string(),
            call_center_id: Some(view.call_center_id),
            before,
            after,
        },
    )
}

/// Lists forms.
#[utoipa::path(get, path = "/api/forms", tag = "leads",
    params(PageParams, FormQuery),
    responses((status = 200, body = Page<FormView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<FormQuery>,
) -> Result<web::Json<Page<FormView>>, ApiError> {
    principal.require(Resource::Form, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let cc = principal.narrow_tenant(query.into_inner().call_center_id);
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Form::list(conn, cc, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one form.
#[utoipa::path(get, path = "/api/forms/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Form id")),
    responses((status = 200, body = FormView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<FormView>, ApiError> {
    principal.require(Resource::Form, Action::Read)?;
    let id = id.into_inner();
    let f = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(f.into()))
}

/// Creates a form.
#[utoipa::path(post, path = "/api/forms", tag = "leads",
    request_body = CreateForm,
    responses((status = 201, body = FormView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateForm>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Form, Action::Create)?;
    let body = body.0;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let draft = Draft {
                    call_center_id,
                    name: body.name,
                    slug: body.slug,
                    fields: body.fields,
                    smtp_profile_id: body.smtp_profile_id,
                    email_template_id: body.email_template_id,
                    double_opt_in: body.double_opt_in.unwrap_or(true),
                    confirmation_campaign_id: body.confirmation_campaign_id,
                    agent_group_id: body.agent_group_id,
                    distribution: body.distribution.unwrap_or(Distribution::RoundRobin),
                    max_open_leads: body.max_open_leads.unwrap_or(DEFAULT_MAX_OPEN),
                    redirect_url: body.redirect_url,
                    confirmed_redirect_url: body.confirmed_redirect_url,
                    consent_text: body.consent_text,
                    active: body.active.unwrap_or(true),
                };
                let mut v = Validator::new();
                draft.check_shape(&mut v);
                draft.check_references(conn, &mut v)?;
                v.finish()?;
                check_slug_free(conn, &draft.slug, None)?;
                let now = db::now();
                let fields = draft.fields_json()?;
                let row = Form::create(
                    conn,
                    &NewForm {
                        call_center_id,
                        name: &draft.name,
                        slug: &draft.slug,
                        fields: &fields,
                        smtp_profile_id: draft.smtp_profile_id,
                        email_template_id: draft.email_template_id,
                        double_opt_in: draft.double_opt_in,
                        confirmation_campaign_id: draft.confirmation_campaign_id,
                        agent_group_id: draft.agent_group_id,
                        distribution: draft.distribution.as_str(),
                        max_open_leads: draft.max_open_leads,
                        redirect_url: draft.redirect_url.as_deref(),
                        confirmed_redirect_url: draft.confirmed_redirect_url.as_deref(),
                        consent_text: draft.consent_text.as_deref(),
                        active: draft.active,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let view = FormView::from(row);
                audit_form(conn, &principal, "form.create", None, Some(&view))?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Changes a form; the rules are checked on the result.
#[utoipa::path(patch, path = "/api/forms/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Form id")),
    request_body = UpdateForm,
    responses((status = 200, body = FormView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateForm>,
) -> Result<web::Json<FormView>, ApiError> {
    principal.require(Resource::Form, Action::Update)?;
    let id = id.into_inner();
    let patch = body.0;
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let stored = visible(&principal, conn, id)?;
                let before = FormView::from(stored.clone());
                let mut draft = Draft::from_stored(&stored);
                draft.apply(patch);
                let mut v = Validator::new();
                draft.check_shape(&mut v);
                draft.check_references(conn, &mut v)?;
                v.finish()?;
                check_slug_free(conn, &draft.slug, Some(id))?;
                let changes = FormChanges {
                    fields: Some(draft.fields_json()?),
                    name: Some(draft.name),
                    slug: Some(draft.slug),
                    smtp_profile_id: Some(draft.smtp_profile_id),
                    email_template_id: Some(draft.email_template_id),
                    double_opt_in: Some(draft.double_opt_in),
                    confirmation_campaign_id: Some(draft.confirmation_campaign_id),
                    agent_group_id: Some(draft.agent_group_id),
                    distribution: Some(draft.distribution.as_str().to_owned()),
                    max_open_leads: Some(draft.max_open_leads),
                    redirect_url: Some(draft.redirect_url),
                    confirmed_redirect_url: Some(draft.confirmed_redirect_url),
                    consent_text: Some(draft.consent_text),
                    active: Some(draft.active),
                    updated_at: Some(db::now()),
                };
                let after = FormView::from(
                    Form::update(conn, id, &changes).or_conflict("name_taken", NAME_TAKEN)?,
                );
                audit_form(conn, &principal, "form.update", Some(&before), Some(&after))?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Deletes a form; its leads stay, without the link.
#[utoipa::path(delete, path = "/api/forms/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Form id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Form, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = FormView::from(visible(&principal, conn, id)?);
                Form::delete(conn, id)?;
                audit_form(conn, &principal, "form.delete", Some(&before), None)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The HTML page the form's public address serves.
#[utoipa::path(get, path = "/api/forms/{id}/preview", tag = "leads",
    params(("id" = i64, Path, description = "Form id")),
    responses((status = 200, description = "The form's HTML page", content_type = "text/html"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn preview(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Form, Action::Read)?;
    let id = id.into_inner();
    let form = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(super::public_forms::form_page(&form, &[], None))
}
