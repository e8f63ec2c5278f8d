//! `/api/dnc`: the do-not-call list of a call center, by hand or imported from a file (the
//! internal list, or the national Bloctel list). Numbers are normalised to E.164 with
//! `callpro_dialer::phone::normalize`, national numbers read in `region` (default `FR`), and
//! are unique per call center whatever their source.
//!
//! Owners and supervisors list and add numbers and import files; only owners delete numbers.
//!
//! The import takes the raw file (`text/plain` or `text/csv`, at most
//! [`IMPORT_LIMIT_BYTES`]) in the format `callpro_dialer::dnc::parse_list` reads: one number
//! per line, optionally followed by more columns (`;` `,` tab or `|` separated, the number
//! possibly quoted), an optional header line (a first line whose first column holds no
//! digit), blank lines ignored, CRLF or LF, UTF-8 with or without a byte order mark. Every
//! other line that is not a valid number counts as `invalid` and is reported with its line
//! number (1-based, header included). Numbers already listed, or repeated in the file, count
//! as `already_listed`; importing the same file twice adds nothing the second time. Rows are
//! written in transactions of [`IMPORT_BATCH`] numbers, so a failure midway keeps the batches
//! before it.

use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use callpro_dialer::dnc::parse_list;
use callpro_dialer::phone::{self, PhoneError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::sites::target_call_center;
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::models::dnc::{Dnc, DncFilter, NewDnc, SOURCE_INTERNAL, SOURCES};
use crate::state::AppState;
use crate::validate::Validator;

const ENTITY: &str = "dnc_number";
const ALREADY_LISTED: &str = "this number is on the call center's do-not-call list already";
/// Region national numbers are read in when the request names none.
const DEFAULT_REGION: &str = "FR";
/// Largest import body: 50 MiB.
pub const IMPORT_LIMIT_BYTES: usize = 50 * 1024 * 1024;
/// Numbers written per transaction during an import.
pub const IMPORT_BATCH: usize = 1_000;
/// Line errors reported per import; further ones are only counted.
pub const MAX_REPORTED_ERRORS: usize = 1_000;
/// Longest `reason`.
const MAX_REASON: usize = 500;

/// The payload configuration of `POST /api/dnc/import` (its body may be large).
pub fn import_payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(IMPORT_LIMIT_BYTES)
}

/// Where a listed number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DncSource {
    /// Added by hand, by an import of the internal list, or by an agent's qualification.
    Internal,
    /// Imported from the French national opposition list.
    Bloctel,
}

/// A listed number as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DncView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// The number in E.164.
    #[schema(example = "+33612345678")]
    pub phone: String,
    /// Where it comes from.
    #[schema(value_type = DncSource)]
    pub source: String,
    /// Why it is listed.
    pub reason: Option<String>,
    /// When it was listed.
    pub created_at: DateTime<Utc>,
}

impl From<Dnc> for DncView {
    fn from(d: Dnc) -> Self {
        Self {
            id: d.id,
            call_center_id: d.call_center_id,
            phone: d.phone,
            source: d.source,
            reason: d.reason,
            created_at: utc(d.created_at),
        }
    }
}

/// Body of `POST /api/dnc`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDnc {
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
    /// The number as written; national numbers are read in `region`.
    #[schema(example = "06 12 34 56 78")]
    pub phone: String,
    /// Why it is listed.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// ISO 3166 country national numbers are read in (default `FR`).
    #[schema(example = "FR")]
    pub region: Option<String>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DncQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this source.
    #[param(value_type = Option<DncSource>)]
    pub source: Option<String>,
    /// Only this number (normalised first, so any spelling matches).
    pub phone: Option<String>,
    /// ISO 3166 country a national `phone` is read in (default `FR`).
    pub region: Option<String>,
}

/// Parameters of `POST /api/dnc/import`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Source of the file's numbers (default `internal`).
    #[param(value_type = Option<DncSource>)]
    pub source: Option<String>,
    /// ISO 3166 country national numbers are read in (default `FR`).
    pub region: Option<String>,
    /// Call center; defaults to the caller's own.
    pub call_center_id: Option<i64>,
}

/// One line of an import that is not a number.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportLineError {
    /// Line number in the file, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Numbers newly listed.
    pub added: u64,
    /// Numbers listed already, or repeated in the file.
    pub already_listed: u64,
    /// Lines that are not valid numbers.
    pub invalid: u64,
    /// The first invalid lines (at most 1,000).
    pub errors: Vec<ImportLineError>,
    /// Whether more lines were invalid than `errors` holds.
    pub errors_truncated: bool,
}

/// The audit entry of an import: the counts, never the numbers.
#[derive(Debug, Serialize)]
struct ImportAudit<'a> {
    source: &'a str,
    region: &'a str,
    added: u64,
    already_listed: u64,
    invalid: u64,
}

fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Dnc, ApiError> {
    let row = Dnc::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(row.call_center_id, ENTITY)?;
    Ok(row)
}

/// The region to read national numbers in, checked (422 on `region`).
fn region(v: &mut Validator, region: Option<&str>) -> String {
    let region = region.unwrap_or(DEFAULT_REGION).trim().to_ascii_uppercase();
    // An international number is read without the region, so only the region can fail here.
    if let Err(PhoneError::UnknownRegion(_)) = phone::normalize("+33612345678", &region) {
        v.add(
            "region",
            "invalid_region",
            "must be an ISO 3166 country code such as FR",
        );
    }
    region
}

fn source(v: &mut Validator, source: Option<&str>) -> &'static str {
    let asked = source.unwrap_or(SOURCE_INTERNAL);
    match SOURCES.iter().copied().find(|s| *s == asked) {
        Some(s) => s,
        None => {
            v.add("source", "invalid_source", "must be internal or bloctel");
            SOURCE_INTERNAL
        }
    }
}

/// The E.164 form of `raw`, or a 422 on `field` saying why not.
fn normalize(v: &mut Validator, field: &str, raw: &str, region: &str) -> Option<String> {
    match phone::normalize(raw, region) {
        Ok(n) => Some(n.e164),
        Err(PhoneError::UnknownRegion(_)) => None, // reported on `region`
        Err(e) => {
            v.add(field, "invalid_phone", e.to_string());
            None
        }
    }
}

fn audit_number(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    id: i64,
    call_center_id: i64,
    before: Option<&DncView>,
    after: Option<&DncView>,
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

/// Lists listed numbers, newest first.
#[utoipa::path(get, path = "/api/dnc", tag = "dnc",
    params(PageParams, DncQuery),
    responses((status = 200, body = Page<DncView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<DncQuery>,
) -> Result<web::Json<Page<DncView>>, ApiError> {
    principal.require(Resource::Dnc, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let mut v = Validator::new();
    let source = query.source.as_deref().map(|s| source(&mut v, Some(s)));
    let region = region(&mut v, query.region.as_deref());
    let phone = query
        .phone
        .as_deref()
        .and_then(|p| normalize(&mut v, "phone", p, &region));
    v.finish()?;
    let filter = DncFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        source: source.map(str::to_string),
        phone,
    };
    let (rows, total) = state
        .db
        .run(move |conn| Ok(Dnc::list(conn, &filter, request)?))
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Reads one listed number.
#[utoipa::path(get, path = "/api/dnc/{id}", tag = "dnc",
    params(("id" = i64, Path, description = "Do-not-call entry id")),
    responses((status = 200, body = DncView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<DncView>, ApiError> {
    principal.require(Resource::Dnc, Action::Read)?;
    let id = id.into_inner();
    let row = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(row.into()))
}

/// Lists one number (source `internal`); 409 `already_listed` when it is listed already.
#[utoipa::path(post, path = "/api/dnc", tag = "dnc",
    request_body = CreateDnc,
    responses((status = 201, body = DncView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateDnc>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Dnc, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    let region = region(&mut v, body.region.as_deref());
    let phone = normalize(&mut v, "phone", &body.phone, &region);
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if let Some(reason) = &reason {
        v.length("reason", reason, 1, MAX_REASON);
    }
    v.finish()?;
    let Some(phone) = phone else {
        // Unreachable: a missing number always leaves an error behind.
        return Err(ApiError::field(
            "phone",
            "invalid_phone",
            "not a phone number",
        ));
    };
    let view = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                let row = Dnc::create(
                    conn,
                    &NewDnc {
                        call_center_id,
                        phone: &phone,
                        source: SOURCE_INTERNAL,
                        reason: reason.as_deref(),
                        created_at: db::now(),
                    },
                )
                .or_conflict("already_listed", ALREADY_LISTED)?;
                let view = DncView::from(row);
                audit_number(
                    conn,
                    &principal,
                    "dnc.create",
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

/// Takes a number off the list (owners only).
#[utoipa::path(delete, path = "/api/dnc/{id}", tag = "dnc",
    params(("id" = i64, Path, description = "Do-not-call entry id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Dnc, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let before = DncView::from(visible(&principal, conn, id)?);
                Dnc::delete(conn, id)?;
                audit_number(
                    conn,
                    &principal,
                    "dnc.delete",
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

/// Imports a file of numbers (see the module docs for the format); answers the counts and
/// the invalid lines.
#[utoipa::path(post, path = "/api/dnc/import", tag = "dnc",
    params(ImportQuery),
    request_body(content = String, description = "One number per line, or a CSV whose first column is the number",
        content_type = "text/plain"),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Dnc, Action::Create)?;
    if !is_text(&req) {
        return Ok(HttpResponse::UnsupportedMediaType().json(ErrorBody {
            code: "unsupported_media_type".into(),
            message: "content type must be text/plain or text/csv".into(),
            fields: None,
        }));
    }
    let body = body.map_err(body_error)?;
    let query = query.into_inner();
    let mut v = Validator::new();
    let source = source(&mut v, query.source.as_deref());
    let region = region(&mut v, query.region.as_deref());
    v.finish()?;
    let report = state
        .db
        .run(move |conn| {
            let call_center_id = target_call_center(&principal, query.call_center_id, conn)?;
            let report = import_lines(conn, call_center_id, source, &region, &body)?;
            db::write_transaction(conn, |conn| {
                audit::record(
                    conn,
                    Some(&principal),
                    Change {
                        action: "dnc.import",
                        entity: ENTITY,
                        entity_id: "import".into(),
                        call_center_id: Some(call_center_id),
                        before: None,
                        after: Some(&ImportAudit {
                            source,
                            region: &region,
                            added: report.added,
                            already_listed: report.already_listed,
                            invalid: report.invalid,
                        }),
                    },
                )
            })?;
            Ok(report)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `text/plain` or `text/csv`, whatever the parameters.
fn is_text(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "text/plain" || v == "text/csv"
        })
        .unwrap_or(false)
}

fn body_error(e: actix_web::Error) -> ApiError {
    match e.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => ApiError::PayloadTooLarge {
            limit: IMPORT_LIMIT_BYTES,
        },
        _ => ApiError::BadRequest {
            code: "bad_body",
            message: format!("cannot read the request body: {e}"),
        },
    }
}

/// Lists a batch of numbers in one transaction and empties it.
fn flush(
    conn: &mut DbConn,
    call_center_id: i64,
    source: &str,
    batch: &mut Vec<String>,
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    if batch.is_empty() {
        return Ok(());
    }
    let added = db::write_transaction(conn, |conn| {
        Dnc::add_many(conn, call_center_id, source, None, batch)
    })?;
    report.added += added.added;
    report.already_listed += added.already_listed;
    batch.clear();
    Ok(())
}

/// Parses `body` and lists its numbers, one transaction per [`IMPORT_BATCH`] numbers.
fn import_lines(
    conn: &mut DbConn,
    call_center_id: i64,
    source: &str,
    region: &str,
    body: &[u8],
) -> Result<ImportReport, ApiError> {
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for line in parse_list(body, region) {
        match line {
            Ok(phone) => {
                batch.push(phone);
                if batch.len() >= IMPORT_BATCH {
                    flush(conn, call_center_id, source, &mut batch, &mut report)?;
                }
            }
            Err(e) => {
                report.invalid += 1;
                if report.errors.len() < MAX_REPORTED_ERRORS {
                    report.errors.push(ImportLineError {
                        line: e.line,
                        reason: e.reason,
                    });
                } else {
                    report.errors_truncated = true;
                }
            }
        }
    }
    flush(conn, call_center_id, source, &mut batch, &mut report)?;
    Ok(report)
}
