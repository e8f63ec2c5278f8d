//! `GET /api/campaigns/{id}/stats`: what a campaign has done and where its abandonment stands
//! against the law, from the call records (the ledgers), plus its agents' live states.

use std::collections::{BTreeMap, HashSet};

use actix_web::web;
use callpro_dialer::campaign::CampaignSettings;
use callpro_dialer::compliance::LedgerWindow;
use callpro_engine::state::AgentStatus;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::campaigns::{CampaignStatus, visible};
use crate::auth::Principal;
use crate::authz::{Action, Resource};
use crate::db::schema::{agent_group_members, call_attempts, campaign_agent_groups};
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody};
use crate::models::lead::Lead;
use crate::state::AppState;

/// Dial results over one window.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct WindowStats {
    /// `24h`, `30d` or `campaign`.
    pub window: &'static str,
    /// Calls placed.
    pub dials: i64,
    /// Calls a person answered (connected to an agent or abandoned).
    pub live_answered: i64,
    /// Calls connected to an agent.
    pub connects: i64,
    /// Live-answered calls no agent took within 2 s.
    pub abandons: i64,
    /// Answering machines detected.
    pub machines: i64,
    /// `abandons / live_answered`, in percent (0 without answers).
    pub abandon_rate_pct: f64,
}

/// A campaign's statistics.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignStats {
    /// The campaign.
    pub campaign_id: i64,
    /// Lifecycle state.
    pub status: CampaignStatus,
    /// Dial mode.
    pub mode: String,
    /// Leads per status (`new`, `retry`, `callback`, `done`, `do_not_call`, ...).
    pub leads: BTreeMap<String, i64>,
    /// Results over the last 24 hours, 30 days and the campaign's life.
    pub windows: Vec<WindowStats>,
    /// The window the regulatory profile judges abandonment over.
    pub governing_window: &'static str,
    /// The legal cap, in percent.
    pub abandon_cap_pct: f64,
    /// The campaign's own target, in percent, boost included.
    pub target_abandon_pct: f64,
    /// The campaign's agents by live state (`ready`, `in_call`, `wrap_up`, `paused`,
    /// `not_ready`, `logged_out`).
    pub agents: BTreeMap<String, usize>,
}

fn window_name(w: LedgerWindow) -> &'static str {
    match w {
        LedgerWindow::Day => "24h",
        LedgerWindow::ThirtyDays => "30d",
        LedgerWindow::Campaign => "campaign",
    }
}

fn window_stats(
    conn: &mut DbConn,
    campaign_id: i64,
    name: &'static str,
    since: Option<NaiveDateTime>,
) -> QueryResult<WindowStats> {
    let mut query = call_attempts::table
        .filter(call_attempts::campaign_id.eq(campaign_id))
        .group_by(call_attempts::outcome)
        .select((call_attempts::outcome, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(since) = since {
        query = query.filter(call_attempts::started_at.ge(since));
    }
    let rows: Vec<(Option<String>, i64)> = query.load(conn)?;
    let mut s = WindowStats {
        window: name,
        ..WindowStats::default()
    };
    for (outcome, n) in rows {
        s.dials += n;
        match outcome.as_deref() {
            Some("human") => s.connects += n,
            Some("abandoned") => s.abandons += n,
            Some("machine") => s.machines += n,
            _ => {}
        }
    }
    s.live_answered = s.connects + s.abandons;
    if s.live_answered > 0 {
        s.abandon_rate_pct = 100.0 * s.abandons as f64 / s.live_answered as f64;
    }
    Ok(s)
}

fn agent_ids(conn: &mut DbConn, campaign_id: i64) -> QueryResult<HashSet<i64>> {
    let ids: Vec<i64> = agent_group_members::table
        .inner_join(
            campaign_agent_groups::table
                .on(campaign_agent_groups::group_id.eq(agent_group_members::group_id)),
        )
        .filter(campaign_agent_groups::campaign_id.eq(campaign_id))
        .select(agent_group_members::user_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// A campaign's dials, connects, abandons and abandonment rate per window, leads per status
/// and its agents by live state.
#[utoipa::path(get, path = "/api/campaigns/{id}/stats", tag = "campaigns",
    params(("id" = i64, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignStats), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stats(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<web::Json<CampaignStats>, ApiError> {
    principal.require(Resource::Campaign, Action::Read)?;
    let id = id.into_inner();
    let (mut stats, agents) = state
        .db
        .run(move |conn| {
            let c = visible(&principal, conn, id)?;
            let settings: CampaignSettings = serde_json::from_str(&c.settings)
                .map_err(|e| ApiError::internal(format!("campaign {id} settings: {e}")))?;
            let now = db::now();
            let windows = vec![
                window_stats(conn, id, "24h", Some(now - Duration::hours(24)))?,
                window_stats(conn, id, "30d", Some(now - Duration::days(30)))?,
                window_stats(conn, id, "campaign", None)?,
            ];
            let boost = if c.boost_until.is_some_and(|t| t > now) {
                c.boost_pct
            } else {
                0.0
            };
            let profile = settings.compliance.profile;
            let stats = CampaignStats {
                campaign_id: id,
                status: CampaignStatus::parse(&c.status),
                mode: c.mode.clone(),
                leads: Lead::count_by_status(conn, id)?.into_iter().collect(),
                windows,
                governing_window: window_name(profile.abandon_window()),
                abandon_cap_pct: profile.abandon_cap_pct(),
                target_abandon_pct: (settings.strategy.target_abandon_pct + boost)
                    .min(profile.abandon_cap_pct()),
                agents: BTreeMap::new(),
            };
            Ok((stats, agent_ids(conn, id)?))
        })
        .await?;
    for agent in state.engine.live.snapshot_agents() {
        if agent.agent_id.is_some_and(|a| agents.contains(&a)) {
            let key = match agent.status {
                AgentStatus::LoggedOut => "logged_out",
                AgentStatus::InCall => "in_call",
                AgentStatus::WrapUp => "wrap_up",
                AgentStatus::Paused => "paused",
                AgentStatus::Ready => "ready",
                AgentStatus::NotReady => "not_ready",
            };
            *stats.agents.entry(key.to_owned()).or_default() += 1;
        }
    }
    Ok(web::Json(stats))
}
