//! Preview dialing for agents: `POST /api/campaigns/{id}/preview/next` claims the next lead of a
//! running preview campaign for the agent, who then calls it (`.../preview/{lead}/call`) or
//! skips it (`.../preview/{lead}/skip`).

use actix_web::{HttpResponse, web};
use callpro_dialer::campaign::{CampaignSettings, DialMode};
use callpro_engine::telephony::{AGENT_BRIDGE_CONTEXT, OriginateTarget};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::agent_session::telephony_error;
use super::campaigns::visible;
use super::leads::LeadView;
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::schema::leads;
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody, QueryResultExt as _};
use crate::models::campaign::Campaign;
use crate::models::lead::Lead;
use crate::models::trunk::Trunk;
use crate::outbound::hopper::{self, ClaimRequest};
use crate::outbound::preview::{self, Followed, runner_of};
use crate::outbound::{attempts, call};
use crate::state::AppState;

/// How long a previewed lead stays the agent's before another may take it.
const PREVIEW_HOLD_MINUTES: i64 = 15;

/// A preview call placed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewCall {
    /// The call's id (qualify it with `POST /api/calls/{id}/qualify`).
    pub call_id: String,
}

/// The campaign, if it is a running preview campaign the principal staffs.
fn preview_campaign(
    principal: &Principal,
    conn: &mut DbConn,
    id: i64,
) -> Result<(Campaign, CampaignSettings), ApiError> {
    let campaign = visible(principal, conn, id)?;
    if campaign.mode != "preview" {
        return Err(ApiError::conflict(
            "not_preview",
            "the campaign dials by itself; only preview campaigns hand leads to agents",
        ));
    }
    if campaign.status != "running" {
        return Err(ApiError::conflict(
            "not_running",
            format!("the campaign is {}", campaign.status),
        ));
    }
    if !Campaign::agent_ids(conn, id)?.contains(&principal.id()) {
        return Err(ApiError::Forbidden);
    }
    let settings: CampaignSettings = serde_json::from_str(&campaign.settings)
        .map_err(|e| ApiError::internal(format!("campaign {id} settings: {e}")))?;
    Ok((campaign, settings))
}

/// The lead, if the agent holds it from a preview of this campaign.
fn held_lead(
    conn: &mut DbConn,
    campaign: i64,
    lead: i64,
    agent: i64,
    now: NaiveDateTime,
) -> Result<Lead, ApiError> {
    let lead = Lead::find(conn, lead).or_not_found("lead")?;
    let held = lead.campaign_id == Some(campaign)
        && lead.claimed_by.as_deref() == Some(runner_of(agent).as_str())
        && lead.claimed_until.is_some_and(|t| t > now);
    if held {
        Ok(lead)
    } else {
        Err(ApiError::conflict(
            "not_previewed",
            "preview this lead first (it is not yours, or your hold ran out)",
        ))
    }
}

/// Claims the next lead the agent may call in a running preview campaign: the hopper's choice
/// (calling window, retry time, caps, do-not-call), held for 15 minutes.
#[utoipa::path(post, path = "/api/campaigns/{id}/preview/next", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = LeadView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn next(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<LeadView>, ApiError> {
    principal.require(Resource::Call, Action::Create)?;
    let id = id.into_inner();
    let lead = state
        .db
        .run(move |conn| {
            let (campaign, settings) = preview_campaign(&principal, conn, id)?;
            let runner = runner_of(principal.id());
            let claimed = hopper::claim(
                conn,
                &campaign,
                &settings,
                DialMode::Preview,
                ClaimRequest {
                    runner: &runner,
                    want: 1,
                    now: chrono::Utc::now(),
                    lease: Duration::minutes(PREVIEW_HOLD_MINUTES),
                },
            )?;
            // 404 `lead_not_found`: no lead of the campaign may be called right now.
            claimed
                .leads
                .into_iter()
                .next()
                .ok_or(ApiError::NotFound("lead"))
        })
        .await?;
    Ok(web::Json(lead.into()))
}

/// Calls a lead the agent previewed: the call rings out through the trunk of the agent's site
/// and lands in the agent's session bridge when answered.
#[utoipa::path(post, path = "/api/campaigns/{id}/preview/{lead_id}/call", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id"),
        ("lead_id" = i64, Path, description = "The previewed lead")),
    responses((status = 202, body = PreviewCall), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn call(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Call, Action::Create)?;
    let (id, lead_id) = path.into_inner();
    let agent = principal.id();
    let site = principal.user.site_id;
    // What is asked first (404, 403, 409), then whether it can be done now (session, Asterisk).
    let (campaign, settings, lead, trunk) = state
        .db
        .run(move |conn| {
            let (campaign, settings) = preview_campaign(&principal, conn, id)?;
            let lead = held_lead(conn, id, lead_id, agent, db::now())?;
            let trunk = Trunk::for_site(conn, campaign.call_center_id, site)?.ok_or_else(|| {
                ApiError::conflict("no_trunk", "the call center has no active trunk")
            })?;
            Ok((campaign, settings, lead, trunk.name))
        })
        .await?;
    if state
        .engine
        .live
        .agent(agent)
        .is_none_or(|a| a.session_channel.is_none())
    {
        return Err(ApiError::conflict(
            "no_session",
            "log in to your session first: the call lands in your session bridge",
        ));
    }
    let telephony = state.engine.telephony()?.clone();
    let call_ref = call::new_call_ref(id);
    let (row, reference, via, center) = (
        lead.clone(),
        call_ref.clone(),
        trunk.clone(),
        campaign.clone(),
    );
    state
        .db
        .run(move |conn| {
            Ok(attempts::dialed(
                conn,
                &center,
                &row,
                &reference,
                &via,
                chrono::Utc::now(),
            )?)
        })
        .await?;
    let request = call::originate(
        &campaign,
        &settings,
        &lead.phone,
        &call_ref,
        &trunk,
        OriginateTarget::Extension {
            context: AGENT_BRIDGE_CONTEXT.to_owned(),
            exten: agent.to_string(),
            priority: 1,
        },
    );
    let pending = match telephony.originate(request).await {
        Ok(pending) => pending,
        Err(e) => {
            let reference = call_ref.clone();
            state
                .db
                .run(move |conn| Ok(attempts::refused(conn, &reference, lead_id)?))
                .await?;
            return Err(telephony_error(e));
        }
    };
    let followed = Followed {
        call_ref: call_ref.clone(),
        lead_id,
        agent,
        settings,
    };
    tokio::spawn(preview::follow(state.get_ref().clone(), followed, pending));
    Ok(HttpResponse::Accepted().json(PreviewCall { call_id: call_ref }))
}

/// Gives a previewed lead back without calling it.
#[utoipa::path(post, path = "/api/campaigns/{id}/preview/{lead_id}/skip", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id"),
        ("lead_id" = i64, Path, description = "The previewed lead")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn skip(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Resource::Call, Action::Create)?;
    let (id, lead_id) = path.into_inner();
    let agent = principal.id();
    state
        .db
        .run(move |conn| {
            db::write_transaction(conn, |conn| {
                preview_campaign(&principal, conn, id)?;
                held_lead(conn, id, lead_id, agent, db::now())?;
                diesel::update(leads::table.find(lead_id))
                    .set((
                        leads::claimed_by.eq(None::<String>),
                        leads::claimed_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
