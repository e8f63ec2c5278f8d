//! What every campaign call has in common, whoever places it (the runtime's pacer or an agent
//! previewing a lead): how it is originated and how a failure is classified.

use std::time::Duration;

use callpro_dialer::campaign::CampaignSettings;
use callpro_dialer::retry::Outcome;
use callpro_engine::telephony::{
    AMD_VARIABLE, DIALER_CONTEXT, Originate, OriginateOutcome, OriginateTarget,
};

use crate::models::campaign::Campaign;

/// Margin past the ring timeout for the `Local/` half to answer (set-up time).
const SETUP_MARGIN: Duration = Duration::from_secs(5);

/// The originate of a campaign call to `phone` through `trunk`, recorded as `call_ref`: a
/// `Local/<phone>@callpro-dialer/n` channel whose answered half goes to `target`, with the
/// variables `asterisk/extensions.conf` reads.
pub fn originate(
    campaign: &Campaign,
    settings: &CampaignSettings,
    phone: &str,
    call_ref: &str,
    trunk: &str,
    target: OriginateTarget,
) -> Originate {
    let c = &settings.compliance;
    let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
    let mut variables = vec![
        ("CALLPRO_TRUNK".to_owned(), trunk.to_owned()),
        (
            "CALLPRO_RING_TIMEOUT".to_owned(),
            settings.strategy.ring_timeout_secs.to_string(),
        ),
        (
            "CALLPRO_MAX_CALL_SECS".to_owned(),
            c.max_call_secs.to_string(),
        ),
        (AMD_VARIABLE.to_owned(), flag(c.amd.enabled)),
        ("CALLPRO_RECORD".to_owned(), flag(c.recording)),
        (
            "CALLPRO_LEGAL_BEEP".to_owned(),
            flag(c.recording && c.legal_beep),
        ),
        ("CALLPRO_DROP_MESSAGE".to_owned(), c.drop_message.clone()),
        (
            "CALLPRO_CALL_CENTER".to_owned(),
            campaign.call_center_id.to_string(),
        ),
        ("CALLPRO_CAMPAIGN".to_owned(), campaign.id.to_string()),
        ("CALLPRO_CALL_ID".to_owned(), call_ref.to_owned()),
    ];
    if let Some(caller_id) = &campaign.caller_id {
        variables.push(("CALLPRO_CALLER_ID".to_owned(), caller_id.clone()));
    }
    Originate {
        channel: format!("Local/{phone}@{DIALER_CONTEXT}/n"),
        target,
        caller_id: campaign.caller_id.clone(),
        // The `Local/` half answers when the trunk does.
        timeout: ring_timeout(settings) + SETUP_MARGIN,
        variables,
        channel_id: call_ref.to_owned(),
        other_channel_id: Some(format!("{call_ref}-2")),
        account: Some(format!("campaign-{}", campaign.id)),
    }
}

/// The campaign's ring timeout.
pub fn ring_timeout(settings: &CampaignSettings) -> Duration {
    Duration::from_secs(u64::from(settings.strategy.ring_timeout_secs))
}

/// A fresh attempt id (also the call's `ChannelId` and `CALLPRO_CALL_ID`).
pub fn new_call_ref(campaign_id: i64) -> String {
    format!("callpro-d{campaign_id}-{}", uuid::Uuid::new_v4().simple())
}

/// What a failed originate really was: Asterisk reports a busy or unanswered trunk behind a
/// `Local/` channel as `Reason: 0`, while the dial status of the call says what happened.
pub fn failure_outcome(outcome: OriginateOutcome, dial_status: Option<&str>) -> Outcome {
    match dial_status.map(str::to_ascii_uppercase).as_deref() {
        Some("BUSY") => return Outcome::Busy,
        Some("NOANSWER" | "CANCEL") => return Outcome::NoAnswer,
        Some("CONGESTION") => return Outcome::Congestion,
        Some("CHANUNAVAIL") => return Outcome::Failed,
        _ => {}
    }
    match outcome {
        OriginateOutcome::Busy => Outcome::Busy,
        OriginateOutcome::NoAnswer | OriginateOutcome::HungUp => Outcome::NoAnswer,
        OriginateOutcome::Congestion => Outcome::Congestion,
        OriginateOutcome::Failed | OriginateOutcome::Answered => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_trunk_behind_a_local_channel_is_busy_not_failed() {
        // `OriginateResponse` says `Reason: 0` (failed); the dial status knows better.
        assert_eq!(
            failure_outcome(OriginateOutcome::Failed, Some("BUSY")),
            Outcome::Busy
        );
        assert_eq!(
            failure_outcome(OriginateOutcome::Failed, Some("NOANSWER")),
            Outcome::NoAnswer
        );
        assert_eq!(
            failure_outcome(OriginateOutcome::Congestion, None),
            Outcome::Congestion
        );
        assert_eq!(
            failure_outcome(OriginateOutcome::Failed, None),
            Outcome::Failed
        );
    }
}
