//! Preview dialing: in a preview campaign the agent asks for the next lead, reads it, then calls
//! it or skips it. No pacer is involved; the agent's call goes straight into their session
//! bridge when the lead answers, and [`follow`] records it like the runtime records its own.

use std::time::Duration;

use callpro_dialer::campaign::{CampaignSettings, DialMode};
use callpro_dialer::retry::Outcome;
use callpro_engine::state::CallPhase;
use callpro_engine::telephony::{OriginateOutcome, PendingOriginate, TelephonyError};
use chrono::Utc;

use super::attempts::{self, Judge};
use super::call::{self, failure_outcome};
use crate::state::AppState;

/// The claim name of an agent's previewed leads.
pub fn runner_of(agent: i64) -> String {
    format!("preview-agent-{agent}")
}

/// How often a connected preview call is checked for its end.
const POLL: Duration = Duration::from_millis(250);
/// How long a failed originate waits for the call's events to say why.
const FAILURE_GRACE: Duration = Duration::from_millis(500);
/// Margin past the campaign's longest call before a connected call is no longer followed.
const END_MARGIN: Duration = Duration::from_secs(120);

/// What [`follow`] needs to know about the call.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The attempt.
    pub call_ref: String,
    /// Its lead.
    pub lead_id: i64,
    /// The agent who placed it.
    pub agent: i64,
    /// The campaign's settings.
    pub settings: CampaignSettings,
}

/// Follows a previewed call to its end: connected (the agent then wraps up) or failed (the lead
/// moves on by the campaign's retry rules).
pub async fn follow(state: AppState, call: Followed, pending: PendingOriginate) {
    let Followed {
        call_ref,
        lead_id,
        agent,
        settings,
    } = call;
    let ring = call::ring_timeout(&settings) + END_MARGIN;
    let result = match tokio::time::timeout(ring, pending.outcome).await {
        Ok(result) => result,
        Err(_) => Err(TelephonyError::Timeout),
    };
    let live = state.engine.live.clone();
    let judge_settings = settings.clone();
    let record = |outcome: Outcome| {
        let (state, reference, settings) =
            (state.clone(), call_ref.clone(), judge_settings.clone());
        async move {
            let done = state
                .db
                .run(move |conn| {
                    let now = Utc::now();
                    let judge = Judge {
                        settings: &settings,
                        mode: DialMode::Preview,
                    };
                    if outcome == Outcome::Human {
                        attempts::answered(conn, &reference, now)?;
                        attempts::connected(conn, judge, &reference, lead_id, agent, now)?;
                    } else {
                        attempts::ended(conn, judge, &reference, lead_id, outcome, None, now)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = done {
                tracing::error!(error = %e, "recording a preview call failed");
            }
        }
    };
    match result {
        Ok(OriginateOutcome::Answered) => {
            record(Outcome::Human).await;
            let limit =
                Duration::from_secs(u64::from(settings.compliance.max_call_secs)) + END_MARGIN;
            let started = tokio::time::Instant::now();
            while started.elapsed() < limit {
                tokio::time::sleep(POLL).await;
                if live
                    .call(&call_ref)
                    .is_none_or(|c| c.phase == CallPhase::Ended)
                {
                    break;
                }
            }
            let reference = call_ref.clone();
            let ended = state
                .db
                .run(move |conn| Ok(attempts::hung_up(conn, &reference, Utc::now())?))
                .await;
            if let Err(e) = ended {
                tracing::error!(error = %e, "recording a preview hang-up failed");
            }
            // Not in a session any more is fine: nothing to wrap up then.
            let _ = live.agent_wrap_up_start(agent);
        }
        Ok(failed) => {
            let until = tokio::time::Instant::now() + FAILURE_GRACE;
            while tokio::time::Instant::now() < until
                && live
                    .call(&call_ref)
                    .is_none_or(|c| c.phase != CallPhase::Ended)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let status = live.call(&call_ref).and_then(|c| c.dial_status);
            record(failure_outcome(failed, status.as_deref())).await;
        }
        Err(e) => {
            tracing::warn!(call = %call_ref, error = %e, "preview call outcome lost");
            record(Outcome::Failed).await;
        }
    }
}
