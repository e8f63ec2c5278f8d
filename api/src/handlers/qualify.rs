//! `POST /api/calls/{id}/qualify`: the agent closes a campaign call with a qualification; the
//! lead's next step (retry, callback, done, do-not-call) follows from it, and wrap-up ends.

use actix_web::web;
use callpro_dialer::campaign::CampaignSettings;
use callpro_dialer::retry::{self, LeadStatus, NextStep, QualificationKind, QualificationRule};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::utc;
use crate::audit::{self, Change};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::schema::{call_attempts, leads};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::extract::Json;
use crate::leadflow::calling::{self, CampaignOutcome};
use crate::models::campaign::Campaign;
use crate::models::dnc::Dnc;
use crate::models::lead::Lead;
use crate::models::qualification::Qualification;
use crate::models::user::Role;
use crate::state::AppState;

/// Longest time ahead a callback may be set.
const MAX_CALLBACK_DAYS: i64 = 90;

/// A qualification named by id or by code (within the campaign's qualification group).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum QualificationRef {
    /// Its id.
    Id(i64),
    /// Its code, e.g. `SALE`.
    Code(String),
}

/// Body of `POST /api/calls/{id}/qualify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Qualify {
    /// The qualification (id or code) from the campaign's group.
    pub qualification: QualificationRef,
    /// For a callback qualification: when to call back (in the future, at most 90 days).
    pub callback_at: Option<DateTime<Utc>>,
    /// Free text kept with the call (up to 2,000 characters).
    pub note: Option<String>,
}

/// What qualifying decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct Qualified {
    /// The call.
    pub call_id: String,
    /// The lead.
    pub lead_id: Option<i64>,
    /// The qualification applied.
    pub qualification: String,
    /// The lead's status now.
    pub lead_status: String,
    /// When the lead will be called again, if it will.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Whether the number went on the do-not-call list.
    pub added_to_dnc: bool,
}

/// The columns of a call attempt that qualifying needs.
#[derive(Debug, Queryable)]
struct AttemptRow {
    id: i64,
    call_center_id: i64,
    campaign_id: Option<i64>,
    lead_id: Option<i64>,
    phone: String,
    agent_user_id: Option<i64>,
    qualification_id: Option<i64>,
}

fn attempt_row(conn: &mut DbConn, call_ref: &str) -> QueryResult<AttemptRow> {
    call_attempts::table
        .filter(call_attempts::call_ref.eq(call_ref))
        .select((
            call_attempts::id,
            call_attempts::call_center_id,
            call_attempts::campaign_id,
            call_attempts::lead_id,
            call_attempts::phone,
            call_attempts::agent_user_id,
            call_attempts::qualification_id,
        ))
        .first(conn)
}

/// Qualifies a campaign call. The agent who took the call may; so may supervisors and owners
/// of its call center. A call is qualified once.
#[utoipa::path(post, path = "/api/calls/{id}/qualify", tag = "calls",
    params(("id" = String, Path, description = "Call id (as in /api/live/calls)")),
    request_body = Qualify,
    responses((status = 200, body = Qualified), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn qualify(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    body: Json<Qualify>,
) -> Result<web::Json<Qualified>, ApiError> {
    principal.require(Resource::Call, Action::Update)?;
    let call_ref = id.into_inner();
    let body = body.0;
    if body
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > 2_000)
    {
        return Err(ApiError::field(
            "note",
            "too_long",
            "at most 2,000 characters",
        ));
    }
    let now = Utc::now();
    let (outcome, agent) = state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| apply(conn, &principal, &call_ref, &body, now))
        })
        .await?;
    if let Some(agent) = agent {
        // The agent is free again; not being in wrap-up (e.g. a supervisor qualifying later)
        // is fine.
        let _ = state.engine.live.agent_wrap_up_end(agent);
    }
    Ok(web::Json(outcome))
}

fn apply(
    conn: &mut DbConn,
    principal: &Principal,
    call_ref: &str,
    body: &Qualify,
    now: DateTime<Utc>,
) -> Result<(Qualified, Option<i64>), ApiError> {
    const ENTITY: &str = "call";
    let AttemptRow {
        id: attempt_id,
        call_center_id,
        campaign_id,
        lead_id,
        phone,
        agent_user_id: agent,
        qualification_id: done,
    } = attempt_row(conn, call_ref).or_not_found(ENTITY)?;
    principal.check_tenant(call_center_id, ENTITY)?;
    if principal.role() == Role::Agent && agent != Some(principal.id()) {
        return Err(ApiError::Forbidden);
    }
    if done.is_some() {
        return Err(ApiError::conflict(
            "already_qualified",
            "this call is already qualified",
        ));
    }
    let campaign_id = campaign_id.ok_or_else(|| {
        ApiError::conflict("not_a_campaign_call", "only campaign calls are qualified")
    })?;
    let campaign = Campaign::find(conn, campaign_id).or_not_found("campaign")?;
    let group = campaign.qualification_group_id.ok_or_else(|| {
        ApiError::conflict(
            "no_qualifications",
            "the campaign has no qualification group",
        )
    })?;
    let choices = Qualification::of_group(conn, group)?;
    let chosen = choices
        .into_iter()
        .find(|q| match &body.qualification {
            QualificationRef::Id(id) => q.id == *id,
            QualificationRef::Code(code) => q.code == *code,
        })
        .ok_or_else(|| {
            ApiError::field(
                "qualification",
                "not_found",
                "not a qualification of this campaign",
            )
        })?;
    let kind: QualificationKind = chosen
        .kind
        .parse()
        .map_err(|e| ApiError::internal(format!("qualification {}: {e}", chosen.id)))?;
    if let Some(at) = body.callback_at {
        if kind != QualificationKind::Callback {
            return Err(ApiError::field(
                "callback_at",
                "not_allowed",
                "only a callback qualification takes a callback time",
            ));
        }
        if at <= now || at > now + Duration::days(MAX_CALLBACK_DAYS) {
            return Err(ApiError::field(
                "callback_at",
                "out_of_range",
                "must be in the future, at most 90 days ahead",
            ));
        }
    }
    let settings: CampaignSettings = serde_json::from_str(&campaign.settings)
        .map_err(|e| ApiError::internal(format!("campaign {} settings: {e}", campaign.id)))?;
    let rule = QualificationRule {
        kind,
        is_final: chosen.is_final,
        retry_delay_secs: chosen.retry_delay_secs.and_then(|v| u32::try_from(v).ok()),
        max_attempts: chosen.max_attempts.and_then(|v| u32::try_from(v).ok()),
    };
    let lead = lead_id.map(|id| Lead::find(conn, id)).transpose()?;
    let attempts = lead
        .as_ref()
        .map_or(1, |l| u32::try_from(l.attempts).unwrap_or(1));
    let decided = retry::after_qualification(
        &rule,
        body.callback_at,
        attempts,
        settings.strategy.max_attempts,
        now,
    );
    let mut next_at: Option<NaiveDateTime> = match decided.next {
        NextStep::Retry { at } => Some(at.naive_utc()),
        NextStep::Done { .. } => None,
    };
    let now_naive = now.naive_utc();
    // What the lead holds once the qualification is applied (as decided, unless the lead
    // was taken out of the selection meanwhile).
    let mut lead_status = decided.status.as_str().to_owned();
    diesel::update(call_attempts::table.find(attempt_id))
        .set((
            call_attempts::qualification_id.eq(Some(chosen.id)),
            call_attempts::note.eq(body.note.as_deref()),
            call_attempts::refusal.eq(decided.refusal),
        ))
        .execute(conn)?;
    if let Some(lead) = &lead {
        diesel::update(leads::table.find(lead.id))
            .set((
                leads::claimed_by.eq(None::<String>),
                leads::claimed_until.eq(None::<NaiveDateTime>),
                leads::updated_at.eq(now_naive),
            ))
            .execute(conn)?;
        // A lead whose confirmation ended while the call was on (marked invalid, say) was
        // taken out of the selection as `done`: the qualification does not put it back.
        diesel::update(
            leads::table
                .find(lead.id)
                .filter(leads::status.ne(LeadStatus::Done.as_str())),
        )
        .set((
            leads::status.eq(decided.status.as_str()),
            leads::next_attempt_at.eq(next_at),
        ))
        .execute(conn)?;
        // A form lead called for its confirmation: the qualification moves it too.
        let lead = Lead::find(conn, lead.id)?;
        calling::campaign_outcome(
            conn,
            &lead,
            CampaignOutcome {
                call_id: call_ref,
                qualification: Some(&chosen.code),
                kind: Some(kind),
                status: decided.status,
                actor: Some(principal.id()),
                at: now_naive,
            },
        )?;
        (lead_status, next_at) = leads::table
            .find(lead.id)
            .select((leads::status, leads::next_attempt_at))
            .get_result(conn)?;
    }
    let added = if decided.add_to_dnc {
        Dnc::add_internal(
            conn,
            call_center_id,
            &phone,
            Some(&format!("qualified {} on call {call_ref}", chosen.code)),
        )?
    } else {
        false
    };
    let out = Qualified {
        call_id: call_ref.to_owned(),
        lead_id,
        qualification: chosen.code.clone(),
        lead_status,
        next_attempt_at: next_at.map(utc),
        added_to_dnc: added,
    };
    audit::record(
        conn,
        Some(principal),
        Change {
            action: "call.qualify",
            entity: ENTITY,
            entity_id: call_ref.to_owned(),
            call_center_id: Some(call_center_id),
            before: None::<&Qualified>,
            after: Some(&out),
        },
    )?;
    Ok((out, agent))
}
