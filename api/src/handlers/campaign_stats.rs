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
use crate::db::schema::call_attempts;
use crate::db::{self, DbConn};
use crate::error::{ApiError, ErrorBody};
use crate::models::campaign::Campaign;
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
    /// The dialer's live figures, while this instance dials the campaign.
    pub dialer: Option<DialerStats>,
}

/// What the campaign's dialer is doing right now.
#[derive(Debug, Serialize, ToSchema)]
pub struct DialerStats {
    /// Whether it places new calls (false while it winds down after a pause or stop).
    pub dialing: bool,
    /// Lines in use: ringing, waiting for an agent, talking.
    pub lines_in_use: usize,
    /// Calls ringing or under answering-machine detection.
    pub ringing: usize,
    /// Answered calls waiting for an agent.
    pub waiting: usize,
    /// Calls connected to an agent.
    pub talking: usize,
    /// Lines not yet connected that the pacer wants open (its current target).
    pub pacing_target: usize,
    /// Agents taking calls (ready, talking, wrap-up) and, of those, ready.
    pub agents: usize,
    /// Ready agents.
    pub agents_idle: usize,
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
                dialer: None,
            };
            let agents: HashSet<i64> = Campaign::agent_ids(conn, id)?.into_iter().collect();
            Ok((stats, agents))
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
    stats.dialer = state.dialer.get(id).map(|p| DialerStats {
        dialing: p.dialing,
        lines_in_use: p.lines_in_use,
        ringing: p.ringing,
        waiting: p.waiting,
        talking: p.talking,
        pacing_target: p.pacing_target,
        agents: p.agents,
        agents_idle: p.agents_idle,
    });
    Ok(web::Json(stats))
}
