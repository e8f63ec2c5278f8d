//! The public side of lead forms, without login: `GET /f/{slug}` serves the form,
//! `POST /f/{slug}` takes a submission (JSON or an HTML form post) and
//! `GET /confirm/{token}` follows the double opt-in link.
//!
//! A submission is checked with exactly the form's rules, rate-limited per client address and
//! per form, capped in size, and refused silently when the honeypot field is filled. A good
//! one is answered only after the lead and its confirmation email are committed together.
//! JSON callers get JSON (`201 {id, stage}`, or `{code, message, fields}`); browsers posting
//! the HTML form get pages and redirects.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::forms::parse_fields;
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, FieldError};
use crate::extract::{client_ip, read_capped};
use crate::intake::form::{self as rules, FormPage};
use crate::leadflow::intake::{self, Confirmation, Settings};
use crate::leadflow::writer::Job;
use crate::models::form::Form;
use crate::state::AppState;

/// Longest public address a form can have.
const MAX_SLUG_LEN: usize = 64;

/// Answer to an accepted submission.
#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    /// The new lead.
    pub id: i64,
    /// Its stage: `pending_email` (check your inbox) or `assigned`/`new`.
    pub stage: String,
}

/// How the client posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Json,
    Html,
}

fn flavour(req: &HttpRequest) -> Option<Flavour> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())?;
    if content_type == "application/json" || content_type.ends_with("+json") {
        Some(Flavour::Json)
    } else if content_type == "application/x-www-form-urlencoded" {
        Some(Flavour::Html)
    } else {
        None
    }
}

/// A small, self-contained HTML page.
fn page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
    );
    crate::email::template::escape_into(&mut html, title);
    html.push_str(
        "</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;\
         padding:0 1rem;line-height:1.5}</style></head><body><h1>",
    );
    crate::email::template::escape_into(&mut html, title);
    html.push_str("</h1><p>");
    crate::email::template::escape_into(&mut html, message);
    html.push_str("</p></body></html>");
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

/// The form's page, with the problems of a refused post and what was typed, if any.
pub fn form_page(
    form: &Form,
    errors: &[FieldError],
    values: Option<&Map<String, Value>>,
) -> HttpResponse {
    let fields = parse_fields(&form.fields);
    let action = format!("/f/{}", form.slug);
    let html = rules::render_html(&FormPage {
        title: &form.name,
        action: &action,
        consent_text: form.consent_text.as_deref(),
        fields: &fields,
        errors,
        values,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}

fn not_found_page() -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        "Form not found",
        "This form does not exist or no longer accepts submissions.",
    )
}

async fn active_form(state: &AppState, slug: String) -> Result<Option<Form>, ApiError> {
    if slug.len() > MAX_SLUG_LEN {
        return Ok(None);
    }
    state
        .db
        .run(move |conn| Ok(find_active(conn, &slug)?))
        .await
}

/// The active form at `slug`, if any.
fn find_active(conn: &mut DbConn, slug: &str) -> diesel::QueryResult<Option<Form>> {
    match Form::by_slug(conn, slug) {
        Ok(form) if form.active => Ok(Some(form)),
        Ok(_) | Err(diesel::result::Error::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Serves the public form.
#[utoipa::path(get, path = "/f/{slug}", tag = "public",
    params(("slug" = String, Path, description = "The form's public address")),
    responses((status = 200, description = "The form", content_type = "text/html"),
        (status = 404, description = "No such active form", content_type = "text/html")))]
pub async fn show(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(match active_form(&state, slug.into_inner()).await? {
        Some(form) => form_page(&form, &[], None),
        None => not_found_page(),
    })
}

/// The posted fields as a JSON object (every value a string for HTML posts).
fn parse_input(flavour: Flavour, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match flavour {
        Flavour::Json => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::field(
                "body",
                "invalid_type",
                "must be a JSON object",
            )),
            Err(e) => Err(ApiError::BadRequest {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {e}"),
            }),
        },
        Flavour::Html => {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).map_err(|e| ApiError::BadRequest {
                    code: "malformed_form",
                    message: format!("the body is not a valid form post: {e}"),
                })?;
            Ok(pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect())
        }
    }
}

/// Takes a submission.
#[utoipa::path(post, path = "/f/{slug}", tag = "public",
    params(("slug" = String, Path, description = "The form's public address")),
    request_body(content = Object, description = "The form's fields, as JSON or \
        application/x-www-form-urlencoded"),
    responses((status = 201, body = Submitted), (status = 303, description = "HTML post accepted"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let Some(flavour) = flavour(&req) else {
        return Err(ApiError::UnsupportedMediaType);
    };
    let slug = slug.into_inner();
    if slug.len() > MAX_SLUG_LEN {
        return Err(ApiError::NotFound("form"));
    }
    let ip = client_ip(&req, state.config.http.trust_proxy);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body = read_capped(&mut payload, declared, state.config.leads.max_body_bytes).await?;
    let settings = Settings {
        public_url: state.config.public_url(),
        token_ttl: chrono::Duration::hours(
            i64::try_from(state.config.leads.token_ttl_hours).unwrap_or(24 * 7),
        ),
    };
    let throttle = state.intake.clone();
    // The form, its checks and the email made ready in one trip to the database; then the
    // writer stores the lead.
    let checked = state
        .db
        .run(move |conn| {
            let Some(form) = find_active(conn, &slug)? else {
                return Ok(Intake::NoForm);
            };
            if let Err(wait) = throttle.check(&ip, form.id) {
                return Ok(Intake::Throttled(wait));
            }
            let input = parse_input(flavour, &body)?;
            if rules::is_spam(&input) {
                tracing::info!(form.id = form.id, %ip, "honeypot filled: submission dropped");
                return Ok(Intake::Dropped(form));
            }
            let fields = parse_fields(&form.fields);
            let submission = match rules::validate_submission(&fields, &input) {
                Ok(submission) => submission,
                Err(errors) => return Ok(Intake::Refused(form, errors, input)),
            };
            let prepared = intake::prepare(conn, &form, &submission, &settings)?;
            Ok(Intake::Accepted(Box::new(Job {
                form,
                submission,
                prepared,
                ip,
                settings,
            })))
        })
        .await?;
    match checked {
        Intake::NoForm => Err(ApiError::NotFound("form")),
        Intake::Throttled(wait) => Err(ApiError::TooManyRequests {
            code: "too_many_submissions",
            message: "too many submissions; try again shortly".into(),
            retry_after_secs: wait,
        }),
        Intake::Dropped(form) => Ok(accepted(flavour, &form, None)),
        Intake::Refused(form, errors, input) => match flavour {
            Flavour::Html => Ok(form_page(&form, &errors, Some(&input))),
            Flavour::Json => Err(ApiError::Validation(errors)),
        },
        Intake::Accepted(job) => {
            let form = job.form.clone();
            let lead = state.intake_writer.store(*job).await?;
            Ok(accepted(
                flavour,
                &form,
                Some(Submitted {
                    id: lead.id,
                    stage: lead.stage,
                }),
            ))
        }
    }
}

/// What became of a submission.
enum Intake {
    /// No such active form.
    NoForm,
    /// Over a rate limit: seconds to wait.
    Throttled(u64),
    /// The honeypot was filled.
    Dropped(Form),
    /// Failed the form's rules.
    Refused(Form, Vec<FieldError>, Map<String, Value>),
    /// Passed every check: for the writer.
    Accepted(Box<Job>),
}

/// The answer to an accepted post (`None`: dropped by the honeypot, answered alike for
/// browsers and with no id for JSON).
fn accepted(flavour: Flavour, form: &Form, lead: Option<Submitted>) -> HttpResponse {
    match (flavour, lead) {
        (Flavour::Json, Some(lead)) => HttpResponse::Created().json(lead),
        (Flavour::Json, None) => {
            HttpResponse::Accepted().json(serde_json::json!({"status": "received"}))
        }
        (Flavour::Html, _) => match &form.redirect_url {
            Some(url) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, url.as_str()))
                .finish(),
            None => page(
                StatusCode::OK,
                "Thank you",
                if form.double_opt_in {
                    "We have sent you an email: follow its link to confirm your request."
                } else {
                    "Your request has been received. We will call you shortly."
                },
            ),
        },
    }
}

/// Follows a double opt-in link.
#[utoipa::path(get, path = "/confirm/{token}", tag = "public",
    params(("token" = String, Path, description = "The token from the email")),
    responses((status = 200, description = "Confirmed (or confirmed before)", content_type = "text/html"),
        (status = 303, description = "Confirmed; to the form's page"),
        (status = 404, description = "Unknown link", content_type = "text/html"),
        (status = 410, description = "Expired link", content_type = "text/html")))]
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let ip = client_ip(&req, state.config.http.trust_proxy);
    let outcome = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                intake::confirm(conn, &token, Some(&ip), db::now())
            })
        })
        .await?;
    let done = |form: &Form, message: &str| match &form.confirmed_redirect_url {
        Some(url) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url.as_str()))
            .finish(),
        None => page(StatusCode::OK, "Thank you", message),
    };
    Ok(match outcome {
        Confirmation::Confirmed { form, .. } => done(
            &form,
            "Your request is confirmed. One of our advisers will call you shortly.",
        ),
        Confirmation::AlreadyConfirmed { form } => {
            done(&form, "Your request was already confirmed. Thank you.")
        }
        Confirmation::Expired => page(
            StatusCode::GONE,
            "This link has expired",
            "The confirmation link is too old. Please fill in the form again.",
        ),
        Confirmation::Unknown => page(
            StatusCode::NOT_FOUND,
            "Unknown link",
            "This confirmation link is not valid. Check that it was copied whole.",
        ),
    })
}
