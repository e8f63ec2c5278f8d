//! `/api/leads`: the confirmation desk. Agents see and qualify the leads assigned to them;
//! supervisors and owners see every lead of their center, move leads between stages (with a
//! reason) and reassign them. Every change lands in the lead's timeline
//! (`GET /api/leads/{id}/timeline`); entries about private notes only for those who see the
//! note (see [`super::lead_notes`]).

use actix_web::web;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::{Page, PageParams, lead_notes, utc};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::schema::leads;
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::leadflow::intake::assign_to;
use crate::leadflow::search::{self, LeadSearch, Sort};
use crate::leadflow::{self, EventKind, LeadEvent, Stage, Transition, stage_of};
use crate::models::lead::Lead;
use crate::models::user::{Role, User};
use crate::state::AppState;

const ENTITY: &str = "lead";

/// A lead as the desk shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeskLead {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Form it came from.
    pub form_id: Option<i64>,
    /// Confirmation stage.
    pub stage: Stage,
    /// Agent it is assigned to.
    pub assigned_user_id: Option<i64>,
    /// E.164 number.
    pub phone: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Every field of the submission.
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    /// Campaign calling it.
    pub campaign_id: Option<i64>,
    /// When a callback is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Submitted.
    pub created_at: DateTime<Utc>,
    /// When it was assigned.
    pub assigned_at: Option<DateTime<Utc>>,
    /// When the stage last changed.
    pub stage_changed_at: Option<DateTime<Utc>>,
    /// When the double opt-in link was followed.
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// Address the form was posted from.
    pub submitted_ip: Option<String>,
    /// Address the confirmation link was opened from.
    pub confirmed_ip: Option<String>,
}

impl From<Lead> for DeskLead {
    fn from(l: Lead) -> Self {
        Self {
            id: l.id,
            call_center_id: l.call_center_id,
            form_id: l.form_id,
            stage: stage_of(&l),
            assigned_user_id: l.assigned_user_id,
            phone: l.phone,
            first_name: l.first_name,
            last_name: l.last_name,
            email: l.email,
            fields: serde_json::from_str(&l.fields).unwrap_or_else(|_| json!({})),
            campaign_id: l.campaign_id,
            next_attempt_at: l.next_attempt_at.map(utc),
            created_at: utc(l.created_at),
            assigned_at: l.assigned_at.map(utc),
            stage_changed_at: l.stage_changed_at.map(utc),
            email_confirmed_at: l.email_confirmed_at.map(utc),
            submitted_ip: l.submitted_ip,
            confirmed_ip: l.confirmed_ip,
        }
    }
}

/// Filters of `GET /api/leads` and `GET /api/leads/export.csv`, all combinable.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct DeskQuery {
    /// Words found in names, email, phone or any submitted field (all words required; a
    /// phone number is matched by its digits).
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only this call center (super admins).
    pub call_center_id: Option<i64>,
    /// Only this stage (also read as `status`).
    #[serde(alias = "status")]
    pub stage: Option<Stage>,
    /// Submitted at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Submitted before.
    pub created_to: Option<DateTime<Utc>>,
    /// Email confirmed at or after.
    pub confirmed_from: Option<DateTime<Utc>>,
    /// Email confirmed before.
    pub confirmed_to: Option<DateTime<Utc>>,
    /// Only leads assigned to this agent.
    pub agent: Option<i64>,
    /// Only leads of this form.
    pub form: Option<i64>,
    /// Only leads of this campaign.
    pub campaign: Option<i64>,
    /// Only leads with (true) or without (false) notes.
    pub has_notes: Option<bool>,
    /// Only the caller's own leads.
    pub mine: Option<bool>,
    /// `-created_at` (default), `created_at`, `-stage_changed_at` or `last_name`.
    pub sort: Option<String>,
}

impl DeskQuery {
    /// The search these filters describe, as `principal` may run it (agents: their own leads
    /// only; tenant-bound callers: their center only); 422 for a bad value.
    pub fn search(&self, principal: &Principal) -> Result<LeadSearch, ApiError> {
        let mut v = crate::validate::Validator::new();
        if let Some(q) = &self.q {
            if q.len() > search::MAX_QUERY_LEN {
                v.add("q", "too_long", "must be at most 200 bytes");
            } else if q.contains('\0') {
                v.add("q", "invalid_characters", "must not contain NUL characters");
            }
        }
        let sort = match self.sort.as_deref() {
            None => Sort::default(),
            Some(s) => Sort::parse(s).unwrap_or_else(|| {
                v.add(
                    "sort",
                    "invalid_sort",
                    "must be -created_at, created_at, -stage_changed_at or last_name",
                );
                Sort::default()
            }),
        };
        v.finish()?;
        let agent = if principal.role() == Role::Agent || self.mine == Some(true) {
            Some(principal.id())
        } else {
            self.agent
        };
        Ok(LeadSearch {
            call_center_id: principal.narrow_tenant(self.call_center_id),
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            stage: self.stage,
            created_from: self.created_from.map(|t| t.naive_utc()),
            created_to: self.created_to.map(|t| t.naive_utc()),
            confirmed_from: self.confirmed_from.map(|t| t.naive_utc()),
            confirmed_to: self.confirmed_to.map(|t| t.naive_utc()),
            agent,
            form: self.form,
            campaign: self.campaign,
            has_notes: self.has_notes,
            sort,
        })
    }
}

/// One timeline entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// Id (orders the timeline).
    pub id: i64,
    /// What happened.
    #[schema(value_type = EventKind)]
    pub kind: String,
    /// Stage before, for stage changes.
    pub from_stage: Option<String>,
    /// Stage after, for stage changes.
    pub to_stage: Option<String>,
    /// Who did it (absent: the lead themself or the system).
    pub actor_user_id: Option<i64>,
    /// Details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<LeadEvent> for TimelineEntry {
    fn from(e: LeadEvent) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            from_stage: e.from_stage,
            to_stage: e.to_stage,
            actor_user_id: e.actor_user_id,
            detail: serde_json::from_str(&e.detail).unwrap_or_else(|_| json!({})),
            at: utc(e.created_at),
        }
    }
}

/// Body of `PATCH /api/leads/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStage {
    /// Target stage; the lifecycle decides what is allowed (409 `invalid_transition`).
    pub stage: Stage,
    /// Why (kept in the timeline).
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Body of `POST /api/leads/{id}/assign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// The agent, active and in the lead's call center.
    pub user_id: i64,
    /// Why (kept in the timeline).
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// The result of a confirmation call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// The person confirmed: `call_confirmed`.
    Confirmed,
    /// The person declined: `rejected`.
    Rejected,
    /// Nobody could be reached: `unreachable`.
    Unreachable,
    /// Call again at `callback_at`: stays `assigned`.
    Callback,
}

/// Body of `POST /api/leads/{id}/qualify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Qualify {
    /// What the call gave.
    pub result: CallResult,
    /// When to call again (required for `callback`, in the future).
    pub callback_at: Option<DateTime<Utc>>,
    /// A word on the call (kept in the timeline).
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// Body of `POST /api/leads/{id}/call`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallLead {
    /// Phone that rings first; defaults to the caller's own extension.
    #[schema(pattern = "^[0-9]{2,20}$")]
    pub extension: Option<String>,
}

/// The lead if the caller may see it: in their tenant, and assigned to them for agents
/// (404 otherwise).
pub(crate) fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Lead, ApiError> {
    let lead = Lead::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(lead.call_center_id, ENTITY)?;
    if principal.role() == Role::Agent && lead.assigned_user_id != Some(principal.id()) {
        return Err(ApiError::NotFound(ENTITY));
    }
    Ok(lead)
}

/// Whether the caller may see a timeline entry: entries about a private note only for those
/// who see that note (its author, owners and super admins). A note entry that does not say it
/// is public, or does not say who wrote a private note, counts as private and not the caller's.
fn sees_event(principal: &Principal, event: &LeadEvent) -> bool {
    if event.kind != EventKind::Note.as_str() {
        return true;
    }
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap_or_default();
    let private = detail["private"].as_bool() != Some(false);
    let author = detail["author_user_id"].as_i64();
    lead_notes::sees_note_of(principal, private, author)
}

fn require_manager(principal: &Principal) -> Result<(), ApiError> {
    if principal.role() == Role::Agent {
        Err(ApiError::Forbidden)
    } else {
        Ok(())
    }
}

/// Searches leads.
#[utoipa::path(get, path = "/api/leads", tag = "leads",
    params(PageParams, DeskQuery),
    responses((status = 200, body = Page<DeskLead>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<DeskQuery>,
) -> Result<web::Json<Page<DeskLead>>, ApiError> {
    principal.require(Resource::Lead, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let search = query.into_inner().search(&principal)?;
    let kind = state.db.kind();
    // The page and the count are independent reads, and with a text query each one matches
    // the text again: side by side on two pooled connections, the answer takes the longer of
    // the two rather than their sum.
    let counted = search.clone();
    let (rows, total) = futures_util::future::try_join(
        state
            .db
            .run(move |conn| Ok(search.page(conn, kind, request)?)),
        state.db.run(move |conn| Ok(counted.count(conn, kind)?)),
    )
    .await?;
    Ok(web::Json(Page::new(
        rows,
        total,
        page,
        per_page,
        Into::into,
    )))
}

/// Leads per chunk of an export.
const EXPORT_CHUNK: i64 = 1000;

/// The CSV columns of an export.
const EXPORT_COLUMNS: [&str; 14] = [
    "id",
    "stage",
    "first_name",
    "last_name",
    "email",
    "phone",
    "form_id",
    "campaign_id",
    "assigned_user_id",
    "created_at",
    "email_confirmed_at",
    "stage_changed_at",
    "submitted_ip",
    "fields",
];

/// A cell safe to open in a spreadsheet: text that a spreadsheet would run as a formula
/// (`=`, `@`, or `+`/`-` not starting a number) gets a leading `'`.
fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    let mut chars = value.chars();
    let risky = match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    if risky {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

fn export_row(lead: &Lead) -> [String; 14] {
    let time = |t: Option<NaiveDateTime>| t.map(|t| utc(t).to_rfc3339()).unwrap_or_default();
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(|s| cell(s).into_owned())
            .unwrap_or_default()
    };
    let id = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    [
        lead.id.to_string(),
        lead.stage.clone(),
        opt(&lead.first_name),
        opt(&lead.last_name),
        opt(&lead.email),
        cell(&lead.phone).into_owned(),
        id(lead.form_id),
        id(lead.campaign_id),
        id(lead.assigned_user_id),
        time(Some(lead.created_at)),
        time(lead.email_confirmed_at),
        time(lead.stage_changed_at),
        lead.submitted_ip.clone().unwrap_or_default(),
        cell(&lead.fields).into_owned(),
    ]
}

fn csv_chunk(leads: &[Lead], header: bool) -> Result<web::Bytes, String> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(leads.len() * 200));
    if header {
        out.write_record(EXPORT_COLUMNS)
            .map_err(|e| e.to_string())?;
    }
    for lead in leads {
        out.write_record(export_row(lead))
            .map_err(|e| e.to_string())?;
    }
    out.into_inner()
        .map(web::Bytes::from)
        .map_err(|e| e.to_string())
}

/// Streams every lead the filters find as CSV, newest first (the `sort` filter is ignored).
#[utoipa::path(get, path = "/api/leads/export.csv", tag = "leads",
    params(DeskQuery),
    responses((status = 200, description = "CSV, one lead per line", content_type = "text/csv"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<DeskQuery>,
) -> Result<actix_web::HttpResponse, ApiError> {
    principal.require(Resource::Lead, Action::List)?;
    let search = query.into_inner().search(&principal)?;
    let kind = state.db.kind();
    // The first chunk is read before answering, so a database failure is a clean error.
    let first = {
        let search = search.clone();
        state
            .db
            .run(move |conn| Ok(search.chunk(conn, kind, None, EXPORT_CHUNK)?))
            .await?
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, String>>(4);
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut chunk = first;
        let mut header = true;
        loop {
            let last = chunk.last().map(|l| l.id);
            let full = chunk.len() as i64 == EXPORT_CHUNK;
            if tx.send(csv_chunk(&chunk, header)).await.is_err() {
                return; // the client went away
            }
            header = false;
            let (Some(before), true) = (last, full) else {
                return;
            };
            let search = search.clone();
            chunk = match db
                .run(move |conn| Ok(search.chunk(conn, kind, Some(before), EXPORT_CHUNK)?))
                .await
            {
                Ok(chunk) => chunk,
                Err(e) => {
                    tracing::warn!(error = %e, "lead export cut short");
                    let _ = tx.send(Err(e.to_string())).await;
                    return;
                }
            };
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|item| (item.map_err(actix_web::error::ErrorInternalServerError), rx))
    });
    Ok(actix_web::HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"leads.csv\"",
        ))
        .streaming(body))
}

/// Reads one lead.
#[utoipa::path(get, path = "/api/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = DeskLead), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<DeskLead>, ApiError> {
    principal.require(Resource::Lead, Action::Read)?;
    let id = id.into_inner();
    let lead = state
        .db
        .run(move |conn| visible(&principal, conn, id))
        .await?;
    Ok(web::Json(lead.into()))
}

/// A lead's timeline, oldest first.
#[utoipa::path(get, path = "/api/leads/{id}/timeline", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn timeline(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<TimelineEntry>>, ApiError> {
    principal.require(Resource::Lead, Action::Read)?;
    let id = id.into_inner();
    let events = state
        .db
        .run(move |conn| {
            visible(&principal, conn, id)?;
            let events = leadflow::timeline(conn, id)?;
            Ok(events
                .into_iter()
                .filter(|e| sees_event(&principal, e))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(web::Json(events.into_iter().map(Into::into).collect()))
}

/// Moves a lead to another stage, with a reason (supervisors and owners).
#[utoipa::path(patch, path = "/api/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = ChangeStage,
    responses((status = 200, body = DeskLead), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_stage(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<ChangeStage>,
) -> Result<web::Json<DeskLead>, ApiError> {
    principal.require(Resource::Lead, Action::Update)?;
    require_manager(&principal)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = crate::validate::Validator::new();
    v.length("reason", &body.reason, 1, 1000);
    v.finish()?;
    if body.stage == Stage::Assigned {
        return Err(ApiError::field(
            "stage",
            "use_assign",
            "assign a lead with POST /api/leads/{id}/assign, which names the agent",
        ));
    }
    let lead = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let lead = visible(&principal, conn, id)?;
                leadflow::transition(
                    conn,
                    &lead,
                    Transition {
                        to: body.stage,
                        actor: Some(principal.id()),
                        detail: json!({"reason": body.reason}),
                        at: db::now(),
                    },
                )
            })
        })
        .await?;
    Ok(web::Json(lead.into()))
}

/// Gives a lead to an agent, or to another one (supervisors and owners).
#[utoipa::path(post, path = "/api/leads/{id}/assign", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = Assign,
    responses((status = 200, body = DeskLead), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<Assign>,
) -> Result<web::Json<DeskLead>, ApiError> {
    principal.require(Resource::Lead, Action::Update)?;
    require_manager(&principal)?;
    let id = id.into_inner();
    let body = body.0;
    if let Some(reason) = &body.reason {
        let mut v = crate::validate::Validator::new();
        v.free_text("reason", reason, 1000);
        v.finish()?;
    }
    let lead = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let lead = visible(&principal, conn, id)?;
                let agent = User::find(conn, body.user_id).ok().filter(|u| {
                    u.call_center_id == Some(lead.call_center_id)
                        && u.role() == Role::Agent
                        && u.active
                });
                let Some(agent) = agent else {
                    return Err(ApiError::field(
                        "user_id",
                        "not_an_agent",
                        "must be an active agent of the lead's call center",
                    ));
                };
                let stage = stage_of(&lead);
                if stage != Stage::Assigned && !stage.can_become(Stage::Assigned) {
                    return Err(ApiError::conflict(
                        "invalid_transition",
                        format!("a lead in stage {} cannot be assigned", stage.as_str()),
                    ));
                }
                assign_to(
                    conn,
                    &lead,
                    agent.id,
                    Some(principal.id()),
                    json!({"manual": true, "reason": body.reason}),
                    db::now(),
                )
            })
        })
        .await?;
    Ok(web::Json(lead.into()))
}

/// Qualifies the confirmation call: the assigned agent (or a supervisor or owner) says what
/// it gave, which moves the lead.
#[utoipa::path(post, path = "/api/leads/{id}/qualify", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = Qualify,
    responses((status = 200, body = DeskLead), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn qualify(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<Qualify>,
) -> Result<web::Json<DeskLead>, ApiError> {
    principal.require(Resource::Lead, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let now = db::now();
    let mut v = crate::validate::Validator::new();
    if let Some(comment) = &body.comment {
        v.free_text("comment", comment, 2000);
    }
    let callback_at: Option<NaiveDateTime> = body.callback_at.map(|t| t.naive_utc());
    match (body.result, callback_at) {
        (CallResult::Callback, None) => v.add("callback_at", "required", "when to call again"),
        (CallResult::Callback, Some(at)) if at <= now => {
            v.add("callback_at", "in_the_past", "must be in the future")
        }
        (CallResult::Callback, Some(_)) | (_, None) => {}
        (_, Some(_)) => v.add(
            "callback_at",
            "not_allowed",
            "only a callback has a callback time",
        ),
    }
    v.finish()?;
    let lead = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let lead = visible(&principal, conn, id)?;
                if stage_of(&lead) != Stage::Assigned {
                    return Err(ApiError::conflict(
                        "not_assigned",
                        "only an assigned lead's call is qualified",
                    ));
                }
                let detail = json!({
                    "result": body.result,
                    "comment": body.comment,
                    "callback_at": body.callback_at,
                });
                leadflow::record(
                    conn,
                    &lead,
                    EventKind::Qualified,
                    Some(principal.id()),
                    detail.clone(),
                    now,
                )?;
                let to = match body.result {
                    CallResult::Confirmed => Stage::CallConfirmed,
                    CallResult::Rejected => Stage::Rejected,
                    CallResult::Unreachable => Stage::Unreachable,
                    CallResult::Callback => {
                        diesel::update(leads::table.find(lead.id))
                            .set((
                                leads::next_attempt_at.eq(callback_at),
                                leads::updated_at.eq(now),
                            ))
                            .execute(conn)?;
                        if let Some(at) = callback_at {
                            leadflow::calling::plan_callback(conn, &lead, at)?;
                        }
                        leadflow::record(
                            conn,
                            &lead,
                            EventKind::CallbackPlanned,
                            Some(principal.id()),
                            json!({"at": body.callback_at}),
                            now,
                        )?;
                        return Ok(Lead::find(conn, lead.id)?);
                    }
                };
                leadflow::transition(
                    conn,
                    &lead,
                    Transition {
                        to,
                        actor: Some(principal.id()),
                        detail,
                        at: now,
                    },
                )
            })
        })
        .await?;
    Ok(web::Json(lead.into()))
}

/// Click-to-call for the confirmation call: rings the caller's phone, then the lead's number
/// (an assigned lead: the agent's own, or any of the center's for supervisors and owners), and
/// writes a `call_started` timeline entry with the call's id.
#[utoipa::path(post, path = "/api/leads/{id}/call", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = CallLead,
    responses((status = 202, body = super::calls::CallStarted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn call(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<CallLead>,
) -> Result<actix_web::HttpResponse, ApiError> {
    principal.require(Resource::Lead, Action::Update)?;
    principal.require(Resource::Call, Action::Create)?;
    let id = id.into_inner();
    let p = principal.clone();
    let lead = state.db.run(move |conn| visible(&p, conn, id)).await?;
    if stage_of(&lead) != Stage::Assigned {
        return Err(ApiError::conflict(
            "not_assigned",
            "only an assigned lead is called for its confirmation",
        ));
    }
    let extension = body.0.extension;
    let call_id =
        super::calls::click_to_call(&state, &principal, lead.phone.clone(), extension.clone())
            .await?;
    let detail = json!({"call_id": call_id, "extension": extension});
    let actor = principal.id();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                Ok(leadflow::record(
                    conn,
                    &lead,
                    EventKind::CallStarted,
                    Some(actor),
                    detail,
                    db::now(),
                )?)
            })
        })
        .await?;
    Ok(actix_web::HttpResponse::Accepted().json(super::calls::CallStarted { call_id }))
}
