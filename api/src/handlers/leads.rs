//! `/api/campaigns/{id}/leads`: a campaign's leads and the streamed CSV import.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::web;
use callpro_dialer::import::{ColumnMapping, ImportError, ImportOptions, Importer, Row};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::campaigns::{CampaignStatus, visible};
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db;
use crate::error::{ApiError, ErrorBody};
use crate::models::lead::{Lead, LeadFilter, NewLead};
use crate::state::AppState;

/// Largest CSV accepted by one import.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Line errors listed in the answer; the count covers all of them.
pub const MAX_REPORTED_ERRORS: usize = 10_000;

/// A lead as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadView {
    /// Id.
    pub id: i64,
    /// Campaign.
    pub campaign_id: Option<i64>,
    /// E.164 number.
    pub phone: String,
    /// Country of the number.
    pub region: Option<String>,
    /// IANA time zone, when known.
    pub time_zone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Identifier in the customer's systems.
    pub external_id: Option<String>,
    /// Other imported columns.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// Higher is called first.
    pub priority: i32,
    /// `new`, `retry`, `done`, `callback`, `do_not_call`, `wrong_number` or `exhausted`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Not to be called before.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Outcome of the last attempt.
    pub last_outcome: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<Lead> for LeadView {
    fn from(l: Lead) -> Self {
        Self {
            id: l.id,
            campaign_id: l.campaign_id,
            phone: l.phone,
            region: l.region,
            time_zone: l.time_zone,
            first_name: l.first_name,
            last_name: l.last_name,
            email: l.email,
            external_id: l.external_id,
            fields: serde_json::from_str(&l.fields).unwrap_or_default(),
            priority: l.priority,
            status: l.status,
            attempts: l.attempts,
            next_attempt_at: l.next_attempt_at.map(utc),
            last_outcome: l.last_outcome,
            created_at: utc(l.created_at),
        }
    }
}

/// Filters of the lead list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this number (E.164, e.g. `+33612345678`).
    pub phone: Option<String>,
}

/// Lists a campaign's leads.
#[utoipa::path(get, path = "/api/campaigns/{id}/leads", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id"), PageParams, LeadQuery),
    responses((status = 200, body = Page<LeadView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    paging: web::Query<PageParams>,
    query: web::Query<LeadQuery>,
) -> Result<web::Json<Page<LeadView>>, ApiError> {
    principal.require(Resource::Campaign, Action::Read)?;
    principal.require(Resource::Lead, Action::List)?;
    let id = id.into_inner();
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let (rows, total) = state
        .db
        .run(move |conn| {
            let campaign = visible(&principal, conn, id)?;
            let filter = LeadFilter {
                call_center_id: Some(campaign.call_center_id),
                campaign_id: Some(id),
                status: query.status,
                phone: query.phone,
            };
            Ok(Lead::list(conn, &filter, request)?)
        })
        .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Options of an import, in the query string. Without `phone_column` the columns are
/// recognised by their headers (phone/téléphone/mobile, first_name/prénom, ...).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Country for numbers written without an international prefix (default `FR`).
    pub region: Option<String>,
    /// Field delimiter: `,`, `;`, `tab` or `|` (default: detected from the header line).
    pub delimiter: Option<String>,
    /// Header of the phone number column.
    pub phone_column: Option<String>,
    /// Header of the first-name column.
    pub first_name_column: Option<String>,
    /// Header of the last-name column.
    pub last_name_column: Option<String>,
    /// Header of the email column.
    pub email_column: Option<String>,
    /// Header of a column holding each lead's IANA time zone.
    pub time_zone_column: Option<String>,
    /// Header of the customer's own identifier column.
    pub external_id_column: Option<String>,
    /// Header of a priority column (-100 to 100).
    pub priority_column: Option<String>,
}

/// One rejected line.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineErrorView {
    /// Line of the file (the header is line 1).
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Leads added to the campaign.
    pub imported: u64,
    /// Lines repeating a number seen earlier in the file.
    pub duplicates_in_file: u64,
    /// Lines whose number the campaign already had.
    pub already_in_campaign: u64,
    /// Lines rejected (see `errors`).
    pub invalid: u64,
    /// The rejected lines with their reason, in file order (at most 10,000).
    pub errors: Vec<LineErrorView>,
    /// More lines were rejected than `errors` lists.
    pub errors_truncated: bool,
    /// The column mapping used.
    #[schema(value_type = Object)]
    pub mapping: serde_json::Value,
}

fn parse_options(q: ImportQuery) -> Result<ImportOptions, ApiError> {
    let delimiter = match q.delimiter.as_deref() {
        None => None,
        Some(",") => Some(b','),
        Some(";") => Some(b';'),
        Some("tab" | "\t") => Some(b'\t'),
        Some("|") => Some(b'|'),
        Some(_) => {
            return Err(ApiError::field(
                "delimiter",
                "invalid_delimiter",
                "one of ',', ';', 'tab' or '|'",
            ));
        }
    };
    let named = [
        &q.first_name_column,
        &q.last_name_column,
        &q.email_column,
        &q.time_zone_column,
        &q.external_id_column,
        &q.priority_column,
    ]
    .iter()
    .any(|c| c.is_some());
    let mapping = match q.phone_column {
        Some(phone) => Some(ColumnMapping {
            phone,
            first_name: q.first_name_column,
            last_name: q.last_name_column,
            email: q.email_column,
            time_zone: q.time_zone_column,
            external_id: q.external_id_column,
            priority: q.priority_column,
        }),
        None if named => {
            return Err(ApiError::field(
                "phone_column",
                "required",
                "name the phone column when naming other columns",
            ));
        }
        None => None,
    };
    Ok(ImportOptions {
        mapping,
        default_region: q.region.unwrap_or_else(|| "FR".to_owned()).to_uppercase(),
        delimiter,
    })
}

/// The request body as a blocking reader, fed chunk by chunk by the handler.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<web::Bytes, String>>,
    current: web::Bytes,
    /// Set when the body failed: the importer's last row is then not the file's fault.
    failed: Arc<AtomicBool>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.failed.store(true, Ordering::Relaxed);
                    return Err(std::io::Error::other(e));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// The body ended badly: nothing of the import is kept.
#[derive(Debug)]
struct BodyFailed;

/// Imports leads from a CSV body into a campaign.
///
/// The body is streamed (up to 64 MiB, about 600,000 rows) and parsed as it arrives. Numbers are normalised to
/// E.164 (`region` for national numbers); a number repeated in the file or already in the
/// campaign is skipped; each bad line is reported with its line number and reason and never
/// stops the import. The good rows are committed in one transaction once the whole body has
/// arrived and been parsed: the answer comes only after commit, and an interrupted upload keeps
/// nothing (run it again: nothing is imported twice).
#[utoipa::path(post, path = "/api/campaigns/{id}/leads/import", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id"), ImportQuery),
    request_body(content = String, content_type = "text/csv",
        description = "CSV with a header line; `,` `;` tab or `|` separated; UTF-8"),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: web::Query<ImportQuery>,
    mut payload: web::Payload,
) -> Result<web::Json<ImportReport>, ApiError> {
    principal.require(Resource::Campaign, Action::Update)?;
    principal.require(Resource::Lead, Action::Update)?;
    let id = id.into_inner();
    let options = parse_options(query.into_inner())?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, String>>(16);

    let pump = async move {
        let mut total = 0usize;
        while let Some(chunk) = payload.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = tx.send(Err(format!("upload interrupted: {e}"))).await;
                    return Err(ApiError::BadRequest {
                        code: "upload_failed",
                        message: format!("the upload failed: {e}"),
                    });
                }
            };
            total += chunk.len();
            if total > MAX_IMPORT_BYTES {
                let _ = tx.send(Err("too large".to_owned())).await;
                return Err(ApiError::PayloadTooLarge {
                    limit: MAX_IMPORT_BYTES,
                });
            }
            if tx.send(Ok(chunk)).await.is_err() {
                // The importer stopped early (bad header): its answer says why.
                break;
            }
        }
        Ok(())
    };

    let work = state.db.run(move |conn| {
        let campaign = visible(&principal, conn, id)?;
        if CampaignStatus::parse(&campaign.status) == CampaignStatus::Stopped {
            return Err(ApiError::conflict(
                "campaign_stopped",
                "a stopped campaign takes no new leads",
            ));
        }
        let failed = Arc::new(AtomicBool::new(false));
        let reader = ChannelReader {
            rx,
            current: web::Bytes::new(),
            failed: failed.clone(),
        };
        let importer = Importer::new(reader, options).map_err(import_error)?;
        let mut report = ImportReport {
            mapping: serde_json::to_value(importer.mapping()).unwrap_or_default(),
            ..ImportReport::default()
        };
        // Parse the whole body before taking the write lock: on SQLite the transaction below
        // then lasts as long as the inserts, not as long as the upload.
        let mut fresh = Vec::new();
        let now = db::now();
        for row in importer {
            match row {
                Row::Lead(lead) => fresh.push(NewLead {
                    call_center_id: campaign.call_center_id,
                    campaign_id: Some(id),
                    phone: lead.phone,
                    region: lead.region,
                    time_zone: lead.time_zone.map(|tz| tz.name().to_owned()),
                    first_name: lead.first_name,
                    last_name: lead.last_name,
                    email: lead.email,
                    external_id: lead.external_id,
                    fields: serde_json::Value::Object(lead.fields).to_string(),
                    priority: lead.priority,
                    status: "new".to_owned(),
                    created_at: now,
                    updated_at: now,
                }),
                Row::Duplicate { .. } => report.duplicates_in_file += 1,
                Row::Invalid(_) if failed.load(Ordering::Relaxed) => return Ok(Err(BodyFailed)),
                Row::Invalid(e) => {
                    report.invalid += 1;
                    if report.errors.len() < MAX_REPORTED_ERRORS {
                        report.errors.push(LineErrorView {
                            line: e.line,
                            reason: e.reason,
                        });
                    } else {
                        report.errors_truncated = true;
                    }
                }
            }
        }
        if failed.load(Ordering::Relaxed) {
            return Ok(Err(BodyFailed));
        }
        let report = db::write_transaction(conn, |conn| {
            // Still importable (not stopped meanwhile), and still ours to write to.
            let campaign = visible(&principal, conn, id)?;
            if CampaignStatus::parse(&campaign.status) == CampaignStatus::Stopped {
                return Err(ApiError::conflict(
                    "campaign_stopped",
                    "a stopped campaign takes no new leads",
                ));
            }
            let written = Lead::insert_batch(conn, &fresh)?;
            report.imported = written as u64;
            report.already_in_campaign = (fresh.len() - written) as u64;
            audit::record(
                conn,
                Some(&principal),
                Change {
                    action: "campaign.leads.import",
                    entity: "campaign",
                    entity_id: id.to_string(),
                    call_center_id: Some(campaign.call_center_id),
                    before: None::<&serde_json::Value>,
                    after: Some(&serde_json::json!({
                        "imported": report.imported,
                        "duplicates_in_file": report.duplicates_in_file,
                        "already_in_campaign": report.already_in_campaign,
                        "invalid": report.invalid,
                    })),
                },
            )?;
            Ok::<_, ApiError>(report)
        })?;
        Ok(Ok(report))
    });

    let (pumped, worked) = tokio::join!(pump, work);
    match (pumped, worked) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(Ok(report))) => Ok(web::Json(report)),
        (Ok(()), Ok(Err(BodyFailed))) => Err(ApiError::BadRequest {
            code: "upload_failed",
            message: "the upload ended before the file did; nothing was imported".to_owned(),
        }),
        (Ok(()), Err(e)) => Err(e),
    }
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::UnknownRegion(e) => ApiError::field("region", "unknown_region", e.to_string()),
        ImportError::MissingColumn { .. } => {
            ApiError::field("phone_column", "unknown_column", e.to_string())
        }
        ImportError::Io(_) => ApiError::BadRequest {
            code: "upload_failed",
            message: format!("{e}; nothing was imported"),
        },
        other => ApiError::field("body", "invalid_csv", other.to_string()),
    }
}
