//! `/api/campaigns`: outbound campaigns, their lifecycle (`draft → running ⇄ paused → stopped`)
//! and the temporary abandonment boost.

use actix_web::{HttpResponse, web};
use callpro_dialer::campaign::{CampaignSettings, DialMode};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::sites::target_call_center;
use super::{Page, PageParams, utc};
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::schema::{agent_groups, leads, qualification_groups};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, FieldError, QueryResultExt as _};
use crate::extract::Json;
use crate::models::campaign::{Campaign, CampaignChanges, CampaignFilter, NewCampaign};
use crate::state::AppState;
use crate::validate::{Validator, double_option};

const ENTITY: &str = "campaign";
const NAME_TAKEN: &str = "another campaign of this call center has this name";

/// Lifecycle state of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    /// Being set up; never dialed.
    Draft,
    /// Dialing.
    Running,
    /// Temporarily not dialing.
    Paused,
    /// Finished for good.
    Stopped,
}

impl CampaignStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "paused" => Self::Paused,
            "stopped" => Self::Stopped,
            _ => Self::Draft,
        }
    }
}

/// A campaign as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    /// Id.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: String,
    /// Higher runs first when campaigns share agents.
    pub priority: i32,
    /// `preview`, `progressive`, `power` or `predictive`.
    pub mode: String,
    /// Lifecycle state.
    pub status: CampaignStatus,
    /// Presented number.
    pub caller_id: Option<String>,
    /// Qualifications offered to agents.
    pub qualification_group_id: Option<i64>,
    /// Script reference.
    pub script: Option<String>,
    /// Agent groups staffing the campaign.
    pub agent_group_ids: Vec<i64>,
    /// Schedule, strategy and compliance (see `CreateCampaign.settings`).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Temporary extra abandonment target in percentage points (0 when none).
    pub boost_pct: f64,
    /// When the boost ends.
    pub boost_until: Option<DateTime<Utc>>,
    /// First start.
    pub started_at: Option<DateTime<Utc>>,
    /// Stop time.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl CampaignView {
    fn new(c: Campaign, agent_group_ids: Vec<i64>) -> Self {
        let settings = serde_json::from_str(&c.settings).unwrap_or(serde_json::Value::Null);
        let boosted = c.boost_until.is_some_and(|t| t > db::now());
        Self {
            id: c.id,
            call_center_id: c.call_center_id,
            name: c.name,
            priority: c.priority,
            mode: c.mode,
            status: CampaignStatus::parse(&c.status),
            caller_id: c.caller_id,
            qualification_group_id: c.qualification_group_id,
            script: c.script,
            agent_group_ids,
            settings,
            boost_pct: if boosted { c.boost_pct } else { 0.0 },
            boost_until: c.boost_until.filter(|_| boosted).map(utc),
            started_at: c.started_at.map(utc),
            stopped_at: c.stopped_at.map(utc),
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        }
    }
}

/// Body of `POST /api/campaigns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    /// Call center (defaults to the caller's).
    pub call_center_id: Option<i64>,
    /// 1 to 100 characters, unique in the call center.
    pub name: String,
    /// -100 to 100 (default 0).
    pub priority: Option<i32>,
    /// Dial mode.
    #[schema(value_type = String, example = "predictive")]
    pub mode: DialMode,
    /// Presented number (E.164 or national digits).
    pub caller_id: Option<String>,
    /// Qualifications offered to agents.
    pub qualification_group_id: Option<i64>,
    /// Script reference shown to agents (up to 200 characters).
    pub script: Option<String>,
    /// Agent groups staffing the campaign.
    #[serde(default)]
    pub agent_group_ids: Vec<i64>,
    /// `{"schedule": {"time_zone", "windows": {"mon": [["09:00","12:30"], ...]}, "holidays"},
    /// "strategy": {"ring_timeout_secs", "max_lines_per_agent", "power_ratio",
    /// "target_abandon_pct", "max_attempts", "retry": {"busy": {"delay_secs", "max_attempts"},
    /// ...}}, "compliance": {"profile": "fr"|"us"|"uk"|"none", "amd": {"enabled", "action"},
    /// "recording", "legal_beep", "max_call_secs", "drop_message"}}`; every part optional.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: CampaignSettings,
}

/// Body of `PATCH /api/campaigns/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaign {
    /// New name.
    pub name: Option<String>,
    /// New priority.
    pub priority: Option<i32>,
    /// New mode (not while running).
    #[schema(value_type = Option<String>)]
    pub mode: Option<DialMode>,
    /// New caller ID (`null` clears).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub caller_id: Option<Option<String>>,
    /// New qualification group (`null` clears).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub qualification_group_id: Option<Option<i64>>,
    /// New script reference (`null` clears).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub script: Option<Option<String>>,
    /// New agent groups (replaces the list).
    pub agent_group_ids: Option<Vec<i64>>,
    /// New settings (replaces them whole).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<CampaignSettings>,
}

/// Body of `POST /api/campaigns/{id}/boost`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Boost {
    /// Extra abandonment target in percentage points; clamped so that the target never passes
    /// the regulatory cap. 0 ends a boost.
    pub pct: f64,
    /// How long, 1 to 120 minutes.
    pub minutes: u32,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignQuery {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this status.
    pub status: Option<CampaignStatus>,
}

fn settings_errors(v: &mut Validator, settings: &CampaignSettings) {
    if let Err(errors) = settings.validate() {
        for e in errors {
            v.add(&format!("settings.{}", e.field), "invalid", e.message);
        }
    }
}

fn validate_common(
    v: &mut Validator,
    name: Option<&str>,
    priority: Option<i32>,
    caller_id: Option<&str>,
    script: Option<&str>,
) {
    if let Some(name) = name {
        v.length("name", name.trim(), 1, 100);
    }
    if priority.is_some_and(|p| !(-100..=100).contains(&p)) {
        v.add("priority", "out_of_range", "must be between -100 and 100");
    }
    if let Some(cid) = caller_id {
        let digits = cid.strip_prefix('+').unwrap_or(cid);
        if !(3..=16).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            v.add(
                "caller_id",
                "invalid_caller_id",
                "3 to 16 digits, optionally after '+'",
            );
        }
    }
    if let Some(script) = script {
        v.length("script", script, 1, 200);
    }
}

/// French numbering ranges reserved by ARCEP for automated calling systems (decision
/// 2022-1583): predictive, power and progressive dialing under the `fr` profile must present
/// one of them.
const FR_AUTOMATED_RANGES: [&str; 12] = [
    "162", "163", "270", "271", "377", "378", "424", "425", "568", "569", "948", "949",
];

fn french_automated_caller_id(cid: &str) -> bool {
    let national = cid
        .strip_prefix("+33")
        .or_else(|| cid.strip_prefix('0'))
        .unwrap_or("");
    national.len() == 9 && FR_AUTOMATED_RANGES.iter().any(|r| national.starts_with(r))
}

/// 404 unless the campaign is in the caller's tenant.
pub fn visible(principal: &Principal, conn: &mut DbConn, id: i64) -> Result<Campaign, ApiError> {
    let campaign = Campaign::find(conn, id).or_not_found(ENTITY)?;
    principal.check_tenant(campaign.call_center_id, ENTITY)?;
    Ok(campaign)
}

fn check_references(
    conn: &mut DbConn,
    call_center_id: i64,
    qualification_group_id: Option<i64>,
    agent_group_ids: Option<&[i64]>,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Some(id) = qualification_group_id {
        let found: i64 = qualification_groups::table
            .filter(qualification_groups::id.eq(id))
            .filter(qualification_groups::call_center_id.eq(call_center_id))
            .count()
            .get_result(conn)?;
        if found == 0 {
            errors.push(FieldError::new(
                "qualification_group_id",
                "not_found",
                "no such qualification group in the campaign's call center",
            ));
        }
    }
    if let Some(ids) = agent_group_ids {
        for (i, id) in ids.iter().enumerate() {
            let found: i64 = agent_groups::table
                .filter(agent_groups::id.eq(id))
                .filter(agent_groups::call_center_id.eq(call_center_id))
                .count()
                .get_result(conn)?;
            if found == 0 {
                errors.push(FieldError::new(
                    format!("agent_group_ids[{i}]"),
                    "not_found",
                    "no such agent group in the campaign's call center",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn settings_json(settings: &CampaignSettings) -> Result<String, ApiError> {
    serde_json::to_string(settings).map_err(|e| ApiError::internal(e.to_string()))
}

fn audit_campaign(
    conn: &mut DbConn,
    principal: &Principal,
    action: &str,
    view_before: Option<&CampaignView>,
    view_after: Option<&CampaignView>,
) -> Result<(), ApiError> {
    let Some(any) = view_after.or(view_before) else {
        return Ok(());
    };
    audit::record(
        conn,
        Some(principal),
        Change {
            action,
            entity: ENTITY,
            entity_id: any.id.to_string(),
            call_center_id: Some(any.call_center_id),
            before: view_before,
            after: view_after,
        },
    )
}

fn view(conn: &mut DbConn, c: Campaign) -> Result<CampaignView, ApiError> {
    let groups = Campaign::agent_groups(conn, c.id)?;
    Ok(CampaignView::new(c, groups))
}

/// Lists campaigns.
#[utoipa::path(get, path = "/api/campaigns", tag = "campaigns",
    params(PageParams, CampaignQuery),
    responses((status = 200, body = Page<CampaignView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    paging: web::Query<PageParams>,
    query: web::Query<CampaignQuery>,
) -> Result<web::Json<Page<CampaignView>>, ApiError> {
    principal.require(Resource::Campaign, Action::List)?;
    let (request, page, per_page) = paging.into_inner().resolve()?;
    let query = query.into_inner();
    let filter = CampaignFilter {
        call_center_id: principal.narrow_tenant(query.call_center_id),
        status: query.status.map(|s| s.as_str().to_owned()),
    };
    let (items, total) = state
        .db
        .run(move |conn| {
            let (rows, total) = Campaign::list(conn, &filter, request)?;
            let items = rows
                .into_iter()
                .map(|c| view(conn, c))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((items, total))
        })
        .await?;
    Ok(web::Json(Page::new(items, total, page, per_page, |v| v)))
}

/// Reads one campaign.
#[utoipa::path(get, path = "/api/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignView>, ApiError> {
    principal.require(Resource::Campaign, Action::Read)?;
    let id = id.into_inner();
    let found = state
        .db
        .run(move |conn| {
            let c = visible(&principal, conn, id)?;
            view(conn, c)
        })
        .await?;
    Ok(web::Json(found))
}

/// Creates a campaign, as a draft.
#[utoipa::path(post, path = "/api/campaigns", tag = "campaigns",
    request_body = CreateCampaign,
    responses((status = 201, body = CampaignView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    body: Json<CreateCampaign>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Campaign, Action::Create)?;
    let body = body.0;
    let mut v = Validator::new();
    validate_common(
        &mut v,
        Some(&body.name),
        body.priority,
        body.caller_id.as_deref(),
        body.script.as_deref(),
    );
    settings_errors(&mut v, &body.settings);
    v.finish()?;
    let settings = settings_json(&body.settings)?;
    let created = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let call_center_id = target_call_center(&principal, body.call_center_id, conn)?;
                check_references(
                    conn,
                    call_center_id,
                    body.qualification_group_id,
                    Some(&body.agent_group_ids),
                )?;
                let now = db::now();
                let row = Campaign::create(
                    conn,
                    &NewCampaign {
                        call_center_id,
                        name: body.name.trim(),
                        priority: body.priority.unwrap_or(0),
                        mode: body.mode.as_str(),
                        status: CampaignStatus::Draft.as_str(),
                        caller_id: body.caller_id.as_deref(),
                        qualification_group_id: body.qualification_group_id,
                        script: body.script.as_deref(),
                        settings: &settings,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                let mut groups = body.agent_group_ids.clone();
                groups.sort_unstable();
                groups.dedup();
                Campaign::set_agent_groups(conn, row.id, &groups)?;
                let after = CampaignView::new(row, groups);
                audit_campaign(conn, &principal, "campaign.create", None, Some(&after))?;
                Ok(after)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Changes a campaign. The mode cannot change while it runs; a stopped campaign is read-only.
#[utoipa::path(patch, path = "/api/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = UpdateCampaign,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<UpdateCampaign>,
) -> Result<web::Json<CampaignView>, ApiError> {
    principal.require(Resource::Campaign, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    validate_common(
        &mut v,
        body.name.as_deref(),
        body.priority,
        body.caller_id.as_ref().and_then(Option::as_deref),
        body.script.as_ref().and_then(Option::as_deref),
    );
    if let Some(settings) = &body.settings {
        settings_errors(&mut v, settings);
    }
    v.finish()?;
    let settings = body.settings.as_ref().map(settings_json).transpose()?;
    let updated = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                let status = CampaignStatus::parse(&current.status);
                if status == CampaignStatus::Stopped {
                    return Err(ApiError::conflict(
                        "campaign_stopped",
                        "a stopped campaign cannot be changed",
                    ));
                }
                if status == CampaignStatus::Running
                    && body.mode.is_some_and(|m| m.as_str() != current.mode)
                {
                    return Err(ApiError::conflict(
                        "campaign_running",
                        "pause the campaign before changing its dial mode",
                    ));
                }
                check_references(
                    conn,
                    current.call_center_id,
                    body.qualification_group_id.flatten(),
                    body.agent_group_ids.as_deref(),
                )?;
                let before = view(conn, current)?;
                let row = Campaign::update(
                    conn,
                    id,
                    &CampaignChanges {
                        name: body.name.as_deref().map(|n| n.trim().to_owned()),
                        priority: body.priority,
                        mode: body.mode.map(|m| m.as_str().to_owned()),
                        caller_id: body.caller_id.clone(),
                        qualification_group_id: body.qualification_group_id,
                        script: body.script.clone(),
                        settings: settings.clone(),
                        updated_at: Some(db::now()),
                        ..CampaignChanges::default()
                    },
                )
                .or_conflict("name_taken", NAME_TAKEN)?;
                if let Some(groups) = &body.agent_group_ids {
                    let mut groups = groups.clone();
                    groups.sort_unstable();
                    groups.dedup();
                    Campaign::set_agent_groups(conn, id, &groups)?;
                }
                let after = view(conn, row)?;
                audit_campaign(
                    conn,
                    &principal,
                    "campaign.update",
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(updated))
}

/// Deletes a campaign that never ran (its leads go with it); others are stopped, not deleted,
/// so that their call records stay.
#[utoipa::path(delete, path = "/api/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Campaign, Action::Delete)?;
    let id = id.into_inner();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                if current.started_at.is_some() {
                    return Err(ApiError::conflict(
                        "campaign_has_history",
                        "a campaign that has dialed keeps its records: stop it instead",
                    ));
                }
                let before = view(conn, current)?;
                // Leads that came from a form outlive the campaign that was to confirm them
                // (imported leads go with it).
                diesel::update(
                    leads::table
                        .filter(leads::campaign_id.eq(id))
                        .filter(leads::form_id.is_not_null()),
                )
                .set(leads::campaign_id.eq(None::<i64>))
                .execute(conn)?;
                Campaign::delete(conn, id)
                    .or_conflict("campaign_in_use", "the campaign is still referenced")?;
                audit_campaign(conn, &principal, "campaign.delete", Some(&before), None)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A lifecycle command.
#[derive(Debug, Clone, Copy)]
enum Transition {
    Start,
    Pause,
    Resume,
    Stop,
}

impl Transition {
    fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Stop => "stop",
        }
    }

    fn target(self, from: CampaignStatus) -> Option<CampaignStatus> {
        use CampaignStatus::*;
        match (self, from) {
            (Self::Start, Draft) => Some(Running),
            (Self::Pause, Running) => Some(Paused),
            (Self::Resume, Paused) => Some(Running),
            (Self::Stop, Draft | Running | Paused) => Some(Stopped),
            _ => None,
        }
    }
}

/// What a campaign needs before it may dial.
fn ready_to_dial(conn: &mut DbConn, c: &Campaign) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let settings: CampaignSettings = serde_json::from_str(&c.settings)
        .map_err(|e| ApiError::internal(format!("campaign {} settings: {e}", c.id)))?;
    if let Err(problems) = settings.validate() {
        errors.extend(
            problems
                .into_iter()
                .map(|p| FieldError::new(format!("settings.{}", p.field), "invalid", p.message)),
        );
    }
    if Campaign::agent_groups(conn, c.id)?.is_empty() {
        errors.push(FieldError::new(
            "agent_group_ids",
            "required",
            "a campaign needs at least one agent group to dial",
        ));
    }
    if c.qualification_group_id.is_none() {
        errors.push(FieldError::new(
            "qualification_group_id",
            "required",
            "agents need qualifications to close their calls",
        ));
    }
    let automated = c.mode != DialMode::Preview.as_str();
    match c.caller_id.as_deref() {
        None => errors.push(FieldError::new(
            "caller_id",
            "required",
            "the caller ID must be shown on every call",
        )),
        Some(cid)
            if automated
                && settings.compliance.profile.as_str() == "fr"
                && !french_automated_caller_id(cid) =>
        {
            errors.push(FieldError::new(
                "caller_id",
                "not_allowed",
                "automated dialing in France must present a number from the ranges ARCEP \
                 reserves for it (01 62, 01 63, 02 70, 02 71, 03 77, 03 78, 04 24, 04 25, \
                 05 68, 05 69, 09 48, 09 49)",
            ))
        }
        Some(_) => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

async fn transition(
    state: web::Data<AppState>,
    principal: Principal,
    id: i64,
    command: Transition,
) -> Result<web::Json<CampaignView>, ApiError> {
    principal.require(Resource::Campaign, Action::Update)?;
    let updated = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                let from = CampaignStatus::parse(&current.status);
                let Some(to) = command.target(from) else {
                    return Err(ApiError::conflict(
                        "invalid_transition",
                        format!(
                            "cannot {} a campaign that is {}",
                            command.name(),
                            from.as_str()
                        ),
                    ));
                };
                if to == CampaignStatus::Running {
                    ready_to_dial(conn, &current)?;
                }
                let now = db::now();
                let before = view(conn, current.clone())?;
                let mut changes = CampaignChanges {
                    status: Some(to.as_str().to_owned()),
                    updated_at: Some(now),
                    ..CampaignChanges::default()
                };
                if to == CampaignStatus::Running && current.started_at.is_none() {
                    changes.started_at = Some(Some(now));
                }
                if to == CampaignStatus::Stopped {
                    changes.stopped_at = Some(Some(now));
                    changes.boost_pct = Some(0.0);
                    changes.boost_until = Some(None);
                }
                let row = Campaign::update(conn, id, &changes)?;
                let after = view(conn, row)?;
                let action = format!("campaign.{}", command.name());
                audit_campaign(conn, &principal, &action, Some(&before), Some(&after))?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(updated))
}

/// Starts dialing a draft campaign. 422 lists what it still lacks (agent groups,
/// qualifications, a caller ID allowed for automated dialing, valid settings).
#[utoipa::path(post, path = "/api/campaigns/{id}/start", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignView>, ApiError> {
    transition(state, principal, id.into_inner(), Transition::Start).await
}

/// Pauses a running campaign: no new dials; calls in progress finish.
#[utoipa::path(post, path = "/api/campaigns/{id}/pause", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn pause(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignView>, ApiError> {
    transition(state, principal, id.into_inner(), Transition::Pause).await
}

/// Resumes a paused campaign.
#[utoipa::path(post, path = "/api/campaigns/{id}/resume", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resume(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignView>, ApiError> {
    transition(state, principal, id.into_inner(), Transition::Resume).await
}

/// Stops a campaign for good.
#[utoipa::path(post, path = "/api/campaigns/{id}/stop", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stop(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignView>, ApiError> {
    transition(state, principal, id.into_inner(), Transition::Stop).await
}

/// Raises the campaign's abandonment target for a while (to clear a backlog), never past the
/// regulatory cap. The answer shows the boost actually granted.
#[utoipa::path(post, path = "/api/campaigns/{id}/boost", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    request_body = Boost,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn boost(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: Json<Boost>,
) -> Result<web::Json<CampaignView>, ApiError> {
    principal.require(Resource::Campaign, Action::Update)?;
    let id = id.into_inner();
    let body = body.0;
    let mut v = Validator::new();
    if !body.pct.is_finite() || body.pct < 0.0 {
        v.add("pct", "out_of_range", "must be a number ≥ 0");
    }
    if !(1..=120).contains(&body.minutes) {
        v.add("minutes", "out_of_range", "must be between 1 and 120");
    }
    v.finish()?;
    let updated = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                let current = visible(&principal, conn, id)?;
                if CampaignStatus::parse(&current.status) != CampaignStatus::Running {
                    return Err(ApiError::conflict(
                        "campaign_not_running",
                        "only a running campaign can be boosted",
                    ));
                }
                let settings: CampaignSettings = serde_json::from_str(&current.settings)
                    .map_err(|e| ApiError::internal(format!("campaign {id} settings: {e}")))?;
                let granted =
                    settings.boost_allowed(settings.strategy.target_abandon_pct, body.pct);
                let now = db::now();
                let until =
                    (granted > 0.0).then(|| now + Duration::minutes(i64::from(body.minutes)));
                let before = view(conn, current)?;
                let row = Campaign::update(
                    conn,
                    id,
                    &CampaignChanges {
                        boost_pct: Some(granted),
                        boost_until: Some(until),
                        updated_at: Some(now),
                        ..CampaignChanges::default()
                    },
                )?;
                let after = view(conn, row)?;
                audit_campaign(
                    conn,
                    &principal,
                    "campaign.boost",
                    Some(&before),
                    Some(&after),
                )?;
                Ok(after)
            })
        })
        .await?;
    Ok(web::Json(updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_automated_ranges() {
        assert!(french_automated_caller_id("+33948123456"));
        assert!(french_automated_caller_id("0162123456"));
        assert!(!french_automated_caller_id("0612345678"));
        assert!(!french_automated_caller_id("+3394812345"));
    }

    #[test]
    fn lifecycle_follows_the_arrows() {
        use CampaignStatus::*;
        assert_eq!(Transition::Start.target(Draft), Some(Running));
        assert_eq!(Transition::Start.target(Paused), None);
        assert_eq!(Transition::Pause.target(Running), Some(Paused));
        assert_eq!(Transition::Resume.target(Paused), Some(Running));
        assert_eq!(Transition::Stop.target(Paused), Some(Stopped));
        assert_eq!(Transition::Resume.target(Stopped), None);
    }
}
