//! The dialer of one campaign: see the parent module for what it does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use callpro_dialer::campaign::{AmdAction, CampaignSettings, DialMode};
use callpro_dialer::pacing::{
    AgentState, AgentView as PacingAgent, AnyPacer, DialOutcome, Pacer, PacingEvent, PacingInput,
    PacingMode, PredictiveConfig,
};
use callpro_dialer::retry::Outcome;
use callpro_engine::bus::{BusMessage, CampaignProgress, LiveEvent};
use callpro_engine::state::{AgentStatus, CallPhase, CallView};
use callpro_engine::telephony::{
    self, ANSWERED_CONTEXT, DROP_CONTEXT, OriginateOutcome, OriginateTarget, Redirect, Telephony,
    TelephonyError,
};
use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{DialerConfig, Reservations};
use crate::error::ApiError;
use crate::models::PageRequest;
use crate::models::campaign::Campaign;
use crate::models::lead::Lead;
use crate::models::trunk::{Trunk, TrunkFilter};
use crate::outbound::attempts::{self, Judge};
use crate::outbound::call::{self, failure_outcome};
use crate::outbound::hopper::{self, ClaimRequest};
use crate::state::AppState;

/// One attempt in progress.
#[derive(Debug)]
struct Call {
    lead_id: i64,
    /// When it was dialed, on the pacer's clock.
    dialed_at: f64,
    stage: Stage,
}

#[derive(Debug, Clone, Copy)]
enum Stage {
    /// Ringing: waiting for the originate's outcome.
    Ringing,
    /// The originate failed with `outcome`; waiting (at most until `until`) for the call's
    /// events to say why (the live state may see them a moment after the outcome).
    Failing {
        outcome: OriginateOutcome,
        until: Instant,
    },
    /// Answered; answering-machine detection running since `answered`.
    Detecting { answered: Instant },
    /// A person answered at `answered` (pacer clock); connect before `deadline`.
    Waiting { answered: f64, deadline: Instant },
    /// Talking to `agent` since `at` (pacer clock).
    Connected { agent: i64, at: f64 },
}

/// A ready agent of the campaign, waiting in its session bridge.
#[derive(Debug, Clone, Copy)]
struct IdleAgent {
    id: i64,
    /// Ready since (live-state clock).
    since_ms: u64,
    site_id: Option<i64>,
}

/// The originate's outcome, reported by the task awaiting it.
#[derive(Debug)]
struct Resolved {
    call_ref: String,
    result: telephony::Result<OriginateOutcome>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    dials: u64,
    connects: u64,
    abandons: u64,
    machines: u64,
}

/// Pauses dialing after Asterisk refused an originate.
const REFUSAL_BACKOFF: Duration = Duration::from_secs(5);
/// Leads claimed for a dial stay claimed this long past the ring timeout if the outcome never
/// comes back (crash): then another selection may take them.
const CLAIM_MARGIN_SECS: i64 = 120;
/// How long a failed originate waits for the call's events to tell busy from no answer.
const FAILURE_GRACE: Duration = Duration::from_millis(500);
/// A ringing call whose outcome never arrives is given up this long after its ring timeout.
const LOST_OUTCOME_MARGIN: Duration = Duration::from_secs(60);

/// The dialer of one campaign.
pub(super) struct Driver {
    state: AppState,
    telephony: Arc<dyn Telephony>,
    config: DialerConfig,
    runner: String,
    reservations: Reservations,
    campaign: Campaign,
    settings: CampaignSettings,
    mode: DialMode,
    pacer: AnyPacer,
    agents: HashSet<i64>,
    trunks: Vec<Trunk>,
    calls: HashMap<String, Call>,
    /// Agents in wrap-up after a call of this campaign, since when (pacer clock).
    wrapping: HashMap<i64, f64>,
    origin: Instant,
    dialing: bool,
    target: usize,
    counters: Counters,
    backoff_until: Option<Instant>,
    next_lease: Instant,
    next_refresh: Instant,
    published: Option<CampaignProgress>,
    resolved: mpsc::UnboundedSender<Resolved>,
    outcomes: Option<mpsc::UnboundedReceiver<Resolved>>,
}

fn settings_of(campaign: &Campaign) -> Result<(CampaignSettings, DialMode), String> {
    let settings: CampaignSettings =
        serde_json::from_str(&campaign.settings).map_err(|e| format!("settings: {e}"))?;
    let mode: DialMode = campaign.mode.parse().map_err(|e| format!("mode: {e}"))?;
    Ok((settings, mode))
}

/// The abandonment target (a fraction) with the boost still running, never above the cap.
fn target_abandon(campaign: &Campaign, settings: &CampaignSettings) -> f64 {
    let boost = if campaign
        .boost_until
        .is_some_and(|t| t > Utc::now().naive_utc())
    {
        settings.boost_allowed(settings.strategy.target_abandon_pct, campaign.boost_pct)
    } else {
        0.0
    };
    let pct = (settings.strategy.target_abandon_pct + boost)
        .min(settings.compliance.profile.abandon_cap_pct());
    pct / 100.0
}

fn pacing_mode(campaign: &Campaign, settings: &CampaignSettings, mode: DialMode) -> PacingMode {
    match mode {
        DialMode::Preview => PacingMode::Preview,
        DialMode::Progressive => PacingMode::Progressive,
        DialMode::Power => PacingMode::Power {
            ratio: settings.strategy.power_ratio,
        },
        DialMode::Predictive => PacingMode::Predictive(PredictiveConfig {
            target_abandon: target_abandon(campaign, settings),
            ..PredictiveConfig::default()
        }),
    }
}

/// How the pacer sees an outcome that reached no agent.
fn pacing_outcome(outcome: Outcome) -> DialOutcome {
    match outcome {
        Outcome::Machine => DialOutcome::Machine,
        Outcome::NoAnswer => DialOutcome::NoAnswer,
        Outcome::Human | Outcome::Abandoned => DialOutcome::Human,
        Outcome::Busy | Outcome::Congestion | Outcome::Failed => DialOutcome::Busy,
    }
}

fn ended(call: Option<&CallView>) -> bool {
    call.is_none_or(|c| c.phase == CallPhase::Ended)
}

impl Driver {
    /// Takes the campaign's lease and builds its driver; `None` when another instance holds it
    /// or its settings are unreadable.
    pub(super) async fn take(
        state: &AppState,
        telephony: &Arc<dyn Telephony>,
        config: &DialerConfig,
        runner: &str,
        reservations: &Reservations,
        campaign: Campaign,
    ) -> Option<Driver> {
        let (settings, mode) = match settings_of(&campaign) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::error!(campaign = campaign.id, error = %e, "campaign cannot be dialed");
                return None;
            }
        };
        let (id, who) = (campaign.id, runner.to_owned());
        let lease = chrono::Duration::from_std(config.lease).unwrap_or(chrono::Duration::MAX);
        let taken = state
            .db
            .run(move |conn| {
                let now = Utc::now();
                Ok(Campaign::take_lease(
                    conn,
                    id,
                    &who,
                    now.naive_utc(),
                    (now + lease).naive_utc(),
                )?)
            })
            .await;
        match taken {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::warn!(campaign = id, error = %e, "dialer: cannot take the lease");
                return None;
            }
        }
        tracing::info!(campaign = id, mode = mode.as_str(), "dialing campaign");
        let pacer = pacing_mode(&campaign, &settings, mode).pacer();
        let (resolved, outcomes) = mpsc::unbounded_channel();
        let now = Instant::now();
        Some(Driver {
            state: state.clone(),
            telephony: Arc::clone(telephony),
            config: *config,
            runner: runner.to_owned(),
            reservations: reservations.clone(),
            campaign,
            settings,
            mode,
            pacer,
            agents: HashSet::new(),
            trunks: Vec::new(),
            calls: HashMap::new(),
            wrapping: HashMap::new(),
            origin: now,
            dialing: true,
            target: 0,
            counters: Counters::default(),
            backoff_until: None,
            next_lease: now + config.lease / 4,
            next_refresh: now,
            published: None,
            resolved,
            outcomes: Some(outcomes),
        })
    }

    /// The campaign this driver dials.
    pub(super) fn campaign_id(&self) -> i64 {
        self.campaign.id
    }

    /// Seconds on the pacer's clock.
    fn clock(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.origin).as_secs_f64()
    }

    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let Some(mut outcomes) = self.outcomes.take() else {
            return;
        };
        let mut bus = self.state.engine.live.subscribe();
        let mut next_tick = Instant::now();
        loop {
            let wake = self.wake_at(next_tick);
            let mut follow = true;
            tokio::select! {
                biased;
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                Some(resolved) = outcomes.recv() => self.on_resolved(resolved).await,
                message = bus.recv() => match message {
                    Some(message) => follow = self.concerns(&message),
                    None => tokio::time::sleep_until(wake).await,
                },
                () = tokio::time::sleep_until(wake) => {}
            }
            // A busy bus must not starve deadlines and ticks.
            if follow || Instant::now() >= wake {
                self.follow_calls().await;
            }
            if Instant::now() >= next_tick {
                self.tick().await;
                next_tick = Instant::now() + self.config.tick;
            }
            if !self.dialing && self.calls.is_empty() {
                break;
            }
        }
        self.give_up().await;
    }

    /// The next time something is due: the tick, or sooner while calls wait for an agent or
    /// for AMD.
    fn wake_at(&self, next_tick: Instant) -> Instant {
        let busy = self.calls.values().any(|c| {
            matches!(
                c.stage,
                Stage::Waiting { .. } | Stage::Detecting { .. } | Stage::Failing { .. }
            )
        });
        if busy {
            next_tick.min(Instant::now() + self.config.poll)
        } else {
            next_tick
        }
    }

    /// Whether a bus message may change one of our calls or free one of our agents.
    fn concerns(&self, message: &BusMessage) -> bool {
        let BusMessage::Event(event) = message else {
            return true;
        };
        match event.as_ref() {
            LiveEvent::CallUpdated { call } | LiveEvent::CallEnded { call } => {
                self.calls.contains_key(&call.linkedid)
            }
            LiveEvent::AgentChanged { agent } => {
                agent.agent_id.is_some_and(|a| self.agents.contains(&a))
                    && self
                        .calls
                        .values()
                        .any(|c| matches!(c.stage, Stage::Waiting { .. }))
            }
            _ => false,
        }
    }

    async fn db<T, F>(&self, what: &'static str, f: F) -> Option<T>
    where
        F: FnOnce(&mut crate::db::DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match self.state.db.run(f).await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!(campaign = self.campaign.id, error = %e, "dialer: {what} failed");
                None
            }
        }
    }

    // ------------------------------------------------------------------ ticks

    async fn tick(&mut self) {
        let now = Instant::now();
        if now >= self.next_lease {
            self.next_lease = now + self.config.lease / 4;
            self.renew().await;
        }
        if now >= self.next_refresh {
            self.next_refresh = now + self.config.refresh;
            self.refresh().await;
        }
        self.notice_wrap_ends();
        self.target = self.lines();
        if self.dialing && self.backoff_until.is_none_or(|t| now >= t) {
            self.dial_more().await;
        }
        self.publish();
    }

    /// Renews the lease and re-reads the campaign (status, settings, boost).
    async fn renew(&mut self) {
        let (id, runner) = (self.campaign.id, self.runner.clone());
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::MAX);
        let renewed = self
            .db("lease renewal", move |conn| {
                let now = Utc::now();
                let kept = Campaign::take_lease(
                    conn,
                    id,
                    &runner,
                    now.naive_utc(),
                    (now + lease).naive_utc(),
                )?;
                Ok((kept, Campaign::find(conn, id)?))
            })
            .await;
        let Some((kept, campaign)) = renewed else {
            return;
        };
        if !kept && self.dialing {
            tracing::info!(
                campaign = id,
                status = %campaign.status,
                "dialing stops; calls in progress finish"
            );
            self.dialing = false;
        }
        match settings_of(&campaign) {
            Ok((settings, _)) => {
                self.pacer
                    .set_target_abandon(target_abandon(&campaign, &settings));
                self.settings = settings;
            }
            Err(e) => tracing::error!(campaign = id, error = %e, "settings unreadable; kept"),
        }
        self.campaign = campaign;
    }

    /// Re-reads the campaign's agents and its call center's active trunks.
    async fn refresh(&mut self) {
        let (id, center) = (self.campaign.id, self.campaign.call_center_id);
        let read = self
            .db("agents and trunks", move |conn| {
                let agents = Campaign::agent_ids(conn, id)?;
                let filter = TrunkFilter {
                    call_center_id: Some(center),
                    site_id: None,
                    active: Some(true),
                };
                let page = PageRequest {
                    limit: 100,
                    offset: 0,
                };
                let (trunks, _) = Trunk::list(conn, &filter, page)?;
                Ok((agents, trunks))
            })
            .await;
        if let Some((agents, trunks)) = read {
            self.agents = agents.into_iter().collect();
            self.trunks = trunks;
        }
    }

    /// The campaign's agents taking calls, as the pacer sees them, with their live views.
    fn pacing_agents(&self) -> (Vec<PacingAgent>, Vec<IdleAgent>) {
        let live = &self.state.engine.live;
        let now_ms = live.now_ms();
        let now = self.clock(Instant::now());
        let mut agents = Vec::new();
        let mut idle = Vec::new();
        for a in live.snapshot_agents() {
            let Some(id) = a.agent_id.filter(|id| self.agents.contains(id)) else {
                continue;
            };
            let state = match a.status {
                AgentStatus::Ready if a.session_channel.is_some() => AgentState::Idle,
                AgentStatus::InCall => AgentState::Talking,
                AgentStatus::WrapUp => AgentState::Wrapping,
                _ => continue,
            };
            let elapsed = now_ms.saturating_sub(a.since_ms) as f64 / 1000.0;
            agents.push(PacingAgent {
                state,
                since: now - elapsed,
            });
            if state == AgentState::Idle {
                idle.push(IdleAgent {
                    id,
                    since_ms: a.since_ms,
                    site_id: a.site_id,
                });
            }
        }
        // Longest idle first.
        idle.sort_by_key(|a| (a.since_ms, a.id));
        (agents, idle)
    }

    /// Reports wrap-ups of this campaign's calls that ended (the agent is ready or away again).
    fn notice_wrap_ends(&mut self) {
        if self.wrapping.is_empty() {
            return;
        }
        let live = &self.state.engine.live;
        let now = self.clock(Instant::now());
        let mut done = Vec::new();
        for (&agent, &since) in &self.wrapping {
            let still = live
                .agent(agent)
                .is_some_and(|a| a.status == AgentStatus::WrapUp);
            if !still {
                done.push((agent, since));
            }
        }
        for (agent, since) in done {
            self.wrapping.remove(&agent);
            self.pacer.observe(
                now,
                &PacingEvent::WrapEnd {
                    duration: now - since,
                },
            );
        }
    }

    /// Lines in use that no agent has yet: calls ringing, under AMD and waiting.
    fn lines(&self) -> usize {
        self.calls
            .values()
            .filter(|c| !matches!(c.stage, Stage::Connected { .. }))
            .count()
    }

    /// Asks the pacer, claims that many leads and dials them.
    async fn dial_more(&mut self) {
        let (agents, idle) = self.pacing_agents();
        let now = self.clock(Instant::now());
        let in_flight: Vec<f64> = self
            .calls
            .values()
            .filter(|c| {
                matches!(
                    c.stage,
                    Stage::Ringing | Stage::Detecting { .. } | Stage::Failing { .. }
                )
            })
            .map(|c| c.dialed_at)
            .collect();
        let waiting = self
            .calls
            .values()
            .filter(|c| matches!(c.stage, Stage::Waiting { .. }))
            .count();
        let input = PacingInput {
            now,
            agents: &agents,
            calls_in_flight: &in_flight,
            waiting,
        };
        let cap = (agents.len() as f64 * self.settings.strategy.max_lines_per_agent).floor();
        let cap = if cap.is_finite() && cap > 0.0 {
            cap as usize
        } else {
            0
        };
        let want = self
            .pacer
            .decide(&input)
            .min(cap.saturating_sub(input.lines()));
        self.target = input.lines() + want;
        if want == 0 {
            return;
        }
        let Some(trunk) = self.pick_trunk(&idle) else {
            tracing::warn!(
                campaign = self.campaign.id,
                "no active trunk for the campaign's call center; not dialing"
            );
            return;
        };
        let (campaign, settings, mode, runner) = (
            self.campaign.clone(),
            self.settings.clone(),
            self.mode,
            self.runner.clone(),
        );
        let lease = chrono::Duration::seconds(
            i64::from(self.settings.strategy.ring_timeout_secs) + CLAIM_MARGIN_SECS,
        );
        let claimed = self
            .state
            .db
            .run(move |conn| {
                hopper::claim(
                    conn,
                    &campaign,
                    &settings,
                    mode,
                    ClaimRequest {
                        runner: &runner,
                        want,
                        now: Utc::now(),
                        lease,
                    },
                )
            })
            .await;
        let leads = match claimed {
            Ok(claimed) => claimed.leads,
            Err(e) => {
                tracing::error!(campaign = self.campaign.id, error = %e, "hopper failed");
                return;
            }
        };
        for lead in leads {
            if !self.dial(lead, &trunk).await {
                break;
            }
        }
    }

    /// The trunk of the site most of the idle agents work from, else any active one.
    fn pick_trunk(&self, idle: &[IdleAgent]) -> Option<String> {
        let mut sites: HashMap<i64, usize> = HashMap::new();
        for site in idle.iter().filter_map(|a| a.site_id) {
            *sites.entry(site).or_default() += 1;
        }
        let mut by_count: Vec<(i64, usize)> = sites.into_iter().collect();
        by_count.sort_by_key(|(site, n)| (std::cmp::Reverse(*n), *site));
        by_count
            .iter()
            .find_map(|(site, _)| self.trunks.iter().find(|t| t.site_id == Some(*site)))
            .or_else(|| self.trunks.first())
            .map(|t| t.name.clone())
    }

    /// Records and originates one call; false when Asterisk refused it (dialing backs off).
    async fn dial(&mut self, lead: Lead, trunk: &str) -> bool {
        let call_ref = call::new_call_ref(self.campaign.id);
        let (campaign, row, reference, via) = (
            self.campaign.clone(),
            lead.clone(),
            call_ref.clone(),
            trunk.to_owned(),
        );
        let recorded = self
            .db("recording a dial", move |conn| {
                Ok(attempts::dialed(
                    conn,
                    &campaign,
                    &row,
                    &reference,
                    &via,
                    Utc::now(),
                )?)
            })
            .await;
        if recorded.is_none() {
            return false;
        }
        let request = call::originate(
            &self.campaign,
            &self.settings,
            &lead.phone,
            &call_ref,
            trunk,
            OriginateTarget::Extension {
                context: ANSWERED_CONTEXT.to_owned(),
                exten: "s".to_owned(),
                priority: 1,
            },
        );
        let dialed_at = self.clock(Instant::now());
        match self.telephony.originate(request).await {
            Ok(pending) => {
                self.counters.dials += 1;
                self.calls.insert(
                    call_ref.clone(),
                    Call {
                        lead_id: lead.id,
                        dialed_at,
                        stage: Stage::Ringing,
                    },
                );
                let report = self.resolved.clone();
                let ring = call::ring_timeout(&self.settings) + LOST_OUTCOME_MARGIN;
                tokio::spawn(async move {
                    let result = match tokio::time::timeout(ring, pending.outcome).await {
                        Ok(result) => result,
                        Err(_) => Err(TelephonyError::Timeout),
                    };
                    let _ = report.send(Resolved { call_ref, result });
                });
                true
            }
            Err(e) => {
                tracing::warn!(campaign = self.campaign.id, error = %e, "originate refused");
                self.backoff_until = Some(Instant::now() + REFUSAL_BACKOFF);
                match e {
                    // It may have been placed: keep the record, count it failed.
                    TelephonyError::ConnectionLost | TelephonyError::Timeout => {
                        self.finish(&call_ref, lead.id, Outcome::Failed, None).await;
                    }
                    _ => {
                        let lead_id = lead.id;
                        self.db("giving a refused dial back", move |conn| {
                            Ok(attempts::refused(conn, &call_ref, lead_id)?)
                        })
                        .await;
                    }
                }
                false
            }
        }
    }

    // ------------------------------------------------------------------ outcomes

    async fn on_resolved(&mut self, resolved: Resolved) {
        let Resolved { call_ref, result } = resolved;
        let Some(call) = self.calls.get(&call_ref) else {
            return;
        };
        let (lead_id, dialed_at) = (call.lead_id, call.dialed_at);
        let now = Instant::now();
        match result {
            Ok(OriginateOutcome::Answered) => {
                let reference = call_ref.clone();
                self.db("recording an answer", move |conn| {
                    Ok(attempts::answered(conn, &reference, Utc::now())?)
                })
                .await;
                if self.settings.compliance.amd.enabled {
                    self.set_stage(&call_ref, Stage::Detecting { answered: now });
                } else {
                    self.human(&call_ref, dialed_at);
                }
            }
            Ok(failed) => {
                let view = self.state.engine.live.call(&call_ref);
                if view.as_ref().is_some_and(|c| c.phase == CallPhase::Ended) {
                    self.failed(&call_ref, lead_id, dialed_at, failed, view.as_ref())
                        .await;
                } else {
                    let until = now + FAILURE_GRACE;
                    self.set_stage(
                        &call_ref,
                        Stage::Failing {
                            outcome: failed,
                            until,
                        },
                    );
                }
            }
            Err(e) => {
                tracing::warn!(campaign = self.campaign.id, call = %call_ref, error = %e,
                    "originate outcome lost");
                self.finish(&call_ref, lead_id, Outcome::Failed, None).await;
            }
        }
    }

    /// Closes a call that never answered, classified by its dial status.
    async fn failed(
        &mut self,
        call_ref: &str,
        lead_id: i64,
        dialed_at: f64,
        failed: OriginateOutcome,
        view: Option<&CallView>,
    ) {
        let outcome = failure_outcome(failed, view.and_then(|c| c.dial_status.as_deref()));
        let t = self.clock(Instant::now());
        self.pacer.observe(
            t,
            &PacingEvent::DialResult {
                outcome: pacing_outcome(outcome),
                duration: t - dialed_at,
            },
        );
        self.finish(call_ref, lead_id, outcome, None).await;
    }

    fn set_stage(&mut self, call_ref: &str, stage: Stage) {
        if let Some(call) = self.calls.get_mut(call_ref) {
            call.stage = stage;
        }
    }

    /// A person is on the line: the pacer learns it and the 2 s to connect start.
    fn human(&mut self, call_ref: &str, dialed_at: f64) {
        let at = Instant::now();
        let now = self.clock(at);
        self.pacer.observe(
            now,
            &PacingEvent::DialResult {
                outcome: DialOutcome::Human,
                duration: now - dialed_at,
            },
        );
        self.set_stage(
            call_ref,
            Stage::Waiting {
                answered: now,
                deadline: at + self.config.connect_within,
            },
        );
    }

    /// Closes an attempt that reached no agent and moves its lead on.
    async fn finish(&mut self, call_ref: &str, lead_id: i64, outcome: Outcome, amd: Option<&str>) {
        self.calls.remove(call_ref);
        let judge = (self.settings.clone(), self.mode);
        let (reference, amd) = (call_ref.to_owned(), amd.map(str::to_owned));
        self.db("recording an outcome", move |conn| {
            let judge = Judge {
                settings: &judge.0,
                mode: judge.1,
            };
            Ok(attempts::ended(
                conn,
                judge,
                &reference,
                lead_id,
                outcome,
                amd.as_deref(),
                Utc::now(),
            )?)
        })
        .await;
    }

    /// The leg to move: the `Local/` half that answered (our `ChannelId`), while it is up.
    fn channel_of(&self, call: Option<&CallView>, call_ref: &str) -> Option<String> {
        call?
            .leg(call_ref)
            .filter(|l| l.ended_ms.is_none())
            .map(|l| l.channel.clone())
    }

    /// Applies what the live state says about our calls: AMD verdicts, deadlines, ends; then
    /// connects waiting calls to free agents.
    async fn follow_calls(&mut self) {
        let now = Instant::now();
        let refs: Vec<(String, i64, f64, Stage)> = self
            .calls
            .iter()
            .map(|(r, c)| (r.clone(), c.lead_id, c.dialed_at, c.stage))
            .collect();
        for (call_ref, lead_id, dialed_at, stage) in refs {
            let view = self.state.engine.live.call(&call_ref);
            match stage {
                Stage::Ringing => {}
                Stage::Failing { outcome, until } => {
                    let over = view.as_ref().is_some_and(|c| c.phase == CallPhase::Ended);
                    if over || now >= until {
                        self.failed(&call_ref, lead_id, dialed_at, outcome, view.as_ref())
                            .await;
                    }
                }
                Stage::Detecting { answered } => {
                    let verdict = view.as_ref().and_then(|c| c.amd_status.clone());
                    match verdict {
                        Some(verdict) => {
                            self.on_amd(&call_ref, lead_id, dialed_at, &verdict, view.as_ref())
                                .await;
                        }
                        None if ended(view.as_ref()) => {
                            self.finish(&call_ref, lead_id, Outcome::NoAnswer, Some("HANGUP"))
                                .await;
                        }
                        None if now >= answered + self.config.amd_timeout => {
                            self.human(&call_ref, dialed_at);
                        }
                        None => {}
                    }
                }
                Stage::Waiting { deadline, .. } => {
                    if ended(view.as_ref()) || now >= deadline {
                        self.abandon(&call_ref, lead_id, view.as_ref()).await;
                    }
                }
                Stage::Connected { agent, at } => {
                    if ended(view.as_ref()) {
                        self.talk_ended(&call_ref, agent, at).await;
                    }
                }
            }
        }
        self.connect_waiting().await;
    }

    async fn on_amd(
        &mut self,
        call_ref: &str,
        lead_id: i64,
        dialed_at: f64,
        verdict: &str,
        view: Option<&CallView>,
    ) {
        let now = self.clock(Instant::now());
        match verdict.to_ascii_uppercase().as_str() {
            "MACHINE" if self.settings.compliance.amd.action != AmdAction::Agent => {
                self.counters.machines += 1;
                self.pacer.observe(
                    now,
                    &PacingEvent::DialResult {
                        outcome: DialOutcome::Machine,
                        duration: now - dialed_at,
                    },
                );
                if let Some(channel) = self.channel_of(view, call_ref) {
                    let done = match self.settings.compliance.amd.action {
                        AmdAction::DropMessage => self.telephony.redirect(drop_to(channel)).await,
                        _ => self.telephony.hangup(channel, Some(16)).await,
                    };
                    if let Err(e) = done {
                        tracing::debug!(call = %call_ref, error = %e, "machine already gone");
                    }
                }
                self.finish(call_ref, lead_id, Outcome::Machine, Some("MACHINE"))
                    .await;
            }
            "HANGUP" => {
                self.finish(call_ref, lead_id, Outcome::NoAnswer, Some("HANGUP"))
                    .await;
            }
            other => {
                let (reference, verdict) = (call_ref.to_owned(), other.to_owned());
                self.db("recording the AMD verdict", move |conn| {
                    Ok(attempts::detected(conn, &reference, &verdict)?)
                })
                .await;
                self.human(call_ref, dialed_at);
            }
        }
    }

    /// No agent in time (or the person hung up while waiting): the drop message plays and the
    /// abandon counts against the campaign's rate.
    async fn abandon(&mut self, call_ref: &str, lead_id: i64, view: Option<&CallView>) {
        self.counters.abandons += 1;
        let now = self.clock(Instant::now());
        self.pacer.observe(now, &PacingEvent::Abandon);
        if let Some(channel) = self.channel_of(view, call_ref)
            && let Err(e) = self.telephony.redirect(drop_to(channel.clone())).await
        {
            tracing::debug!(call = %call_ref, error = %e, "drop message failed; hanging up");
            let _ = self.telephony.hangup(channel, Some(16)).await;
        }
        tracing::info!(campaign = self.campaign.id, call = %call_ref, "call abandoned");
        self.finish(call_ref, lead_id, Outcome::Abandoned, None)
            .await;
    }

    /// Moves waiting calls, oldest answer first, to the longest-idle ready agents.
    async fn connect_waiting(&mut self) {
        let mut waiting: Vec<(String, i64, f64)> = self
            .calls
            .iter()
            .filter_map(|(r, c)| match c.stage {
                Stage::Waiting { answered, .. } => Some((r.clone(), c.lead_id, answered)),
                _ => None,
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        waiting.sort_by(|a, b| a.2.total_cmp(&b.2));
        let (_, idle) = self.pacing_agents();
        let mut idle = idle.into_iter();
        for (call_ref, lead_id, answered) in waiting {
            let view = self.state.engine.live.call(&call_ref);
            let Some(channel) = self.channel_of(view.as_ref(), &call_ref) else {
                continue;
            };
            let Some(agent) = idle
                .by_ref()
                .map(|a| a.id)
                .find(|id| self.reservations.try_reserve(*id, &call_ref))
            else {
                break;
            };
            if let Err(e) = self.telephony.bridge_to_agent(channel, agent).await {
                tracing::warn!(call = %call_ref, agent, error = %e, "connecting to the agent failed");
                self.reservations.release(agent, &call_ref);
                continue;
            }
            let now = self.clock(Instant::now());
            self.counters.connects += 1;
            self.pacer.observe(
                now,
                &PacingEvent::Connect {
                    wait: now - answered,
                },
            );
            self.set_stage(&call_ref, Stage::Connected { agent, at: now });
            let judge = (self.settings.clone(), self.mode);
            self.db("recording a connection", move |conn| {
                let judge = Judge {
                    settings: &judge.0,
                    mode: judge.1,
                };
                Ok(attempts::connected(
                    conn,
                    judge,
                    &call_ref,
                    lead_id,
                    agent,
                    Utc::now(),
                )?)
            })
            .await;
        }
    }

    /// A connected call hung up: the agent goes to wrap-up until they qualify it.
    async fn talk_ended(&mut self, call_ref: &str, agent: i64, at: f64) {
        let now = self.clock(Instant::now());
        self.pacer
            .observe(now, &PacingEvent::TalkEnd { duration: now - at });
        self.calls.remove(call_ref);
        self.reservations.release(agent, call_ref);
        if self.state.engine.live.agent_wrap_up_start(agent).is_ok() {
            self.wrapping.insert(agent, now);
        }
        let reference = call_ref.to_owned();
        self.db("recording a hang-up", move |conn| {
            Ok(attempts::hung_up(conn, &reference, Utc::now())?)
        })
        .await;
    }

    // ------------------------------------------------------------------ reporting

    fn publish(&mut self) {
        let (agents, idle) = self.pacing_agents();
        let count = |f: fn(&Stage) -> bool| self.calls.values().filter(|c| f(&c.stage)).count();
        let ringing = count(|s| {
            matches!(
                s,
                Stage::Ringing | Stage::Detecting { .. } | Stage::Failing { .. }
            )
        });
        let waiting = count(|s| matches!(s, Stage::Waiting { .. }));
        let talking = count(|s| matches!(s, Stage::Connected { .. }));
        let progress = CampaignProgress {
            campaign_id: self.campaign.id,
            call_center_id: self.campaign.call_center_id,
            dialing: self.dialing,
            agents: agents.len(),
            agents_idle: idle.len(),
            ringing,
            waiting,
            talking,
            lines_in_use: ringing + waiting + talking,
            pacing_target: self.target,
            dials: self.counters.dials,
            connects: self.counters.connects,
            abandons: self.counters.abandons,
            machines: self.counters.machines,
            at_ms: self.state.engine.live.now_ms(),
        };
        let changed = self.published.as_ref().is_none_or(|last| {
            CampaignProgress {
                at_ms: progress.at_ms,
                ..last.clone()
            } != progress
        });
        self.state.dialer.set(progress.clone());
        if changed {
            self.state
                .engine
                .live
                .bus()
                .publish(LiveEvent::CampaignProgress {
                    progress: progress.clone(),
                });
        }
        self.published = Some(progress);
    }

    async fn give_up(&mut self) {
        let (id, runner) = (self.campaign.id, self.runner.clone());
        self.db("releasing the lease", move |conn| {
            Ok(Campaign::release_lease(conn, id, &runner)?)
        })
        .await;
        self.state.dialer.remove(id);
        tracing::info!(campaign = id, "campaign given up");
    }
}

fn drop_to(channel: String) -> Redirect {
    Redirect {
        channel,
        extra_channel: None,
        context: DROP_CONTEXT.to_owned(),
        exten: "s".to_owned(),
        priority: 1,
    }
}
