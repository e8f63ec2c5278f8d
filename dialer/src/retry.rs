//! What happens to a lead after an attempt: the dial outcome ([`after_outcome`]) or, when a
//! person answered, the agent's qualification ([`after_qualification`]) decides whether and
//! when it is called again, and what status it is stored with.
//!
//! `attempts_after` is always the number of attempts the lead has had in the campaign,
//! including the one just finished.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::campaign::{CampaignSettings, DialMode, names};
use crate::compliance::plus;

/// How an attempt ended, as far as the dialer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A person answered and was connected to an agent, who then qualifies the call.
    Human,
    /// Busy tone.
    Busy,
    /// Nobody answered within the ring timeout.
    NoAnswer,
    /// Network congestion.
    Congestion,
    /// The call could not be placed for another reason.
    Failed,
    /// An answering machine, detected by AMD.
    Machine,
    /// A person answered but no agent was free in time; the call was dropped.
    Abandoned,
}

names!(Outcome, "outcome",
    Human => "human",
    Busy => "busy",
    NoAnswer => "no_answer",
    Congestion => "congestion",
    Failed => "failed",
    Machine => "machine",
    Abandoned => "abandoned",
);

/// What an agent's qualification means to the dialer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualificationKind {
    /// The call reached its goal (sale, appointment, ...).
    Positive,
    /// The person declined: an explicit refusal, which starts the French 60-day cooldown.
    Negative,
    /// Neither: information given, wrong moment, ...
    Neutral,
    /// The person asked to be called back at a given time.
    Callback,
    /// The person asked never to be called again: the number goes on the do-not-call list.
    DoNotCall,
    /// The number does not belong to the lead.
    WrongNumber,
}

names!(QualificationKind, "qualification kind",
    Positive => "positive",
    Negative => "negative",
    Neutral => "neutral",
    Callback => "callback",
    DoNotCall => "do_not_call",
    WrongNumber => "wrong_number",
);

/// A qualification an agent can pick, as configured for a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationRule {
    /// What the qualification means.
    pub kind: QualificationKind,
    /// Whether the lead is done with after it.
    pub is_final: bool,
    /// Seconds before the next attempt when not final (1 h when unset).
    pub retry_delay_secs: Option<u32>,
    /// No retry once the lead has had this many attempts (the campaign cap when unset).
    pub max_attempts: Option<u32>,
}

/// The status of a lead in the campaign, stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Never attempted.
    New,
    /// To be called again at its next attempt time.
    Retry,
    /// Finished: qualified for good.
    Done,
    /// To be called back at the time the person asked for.
    Callback,
    /// Finished: the person asked never to be called.
    DoNotCall,
    /// Finished: the number is not the lead's.
    WrongNumber,
    /// Finished: out of attempts.
    Exhausted,
}

names!(LeadStatus, "lead status",
    New => "new",
    Retry => "retry",
    Done => "done",
    Callback => "callback",
    DoNotCall => "do_not_call",
    WrongNumber => "wrong_number",
    Exhausted => "exhausted",
);

/// What to do with a lead next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum NextStep {
    /// Call again, not before `at` (the hopper may still defer it, e.g. to a legal window).
    Retry {
        /// The earliest next attempt.
        at: DateTime<Utc>,
    },
    /// Stop calling the lead.
    Done {
        /// Why.
        status: LeadStatus,
    },
}

impl NextStep {
    /// The lead status to store: [`LeadStatus::Retry`] for a retry, else the final status.
    pub fn status(&self) -> LeadStatus {
        match self {
            Self::Retry { .. } => LeadStatus::Retry,
            Self::Done { status } => *status,
        }
    }
}

/// Margin past the longest possible call before an unqualified [`Outcome::Human`] comes back.
pub const QUALIFICATION_GRACE: TimeDelta = TimeDelta::minutes(15);

/// Retry delay for non-final qualifications and callbacks that give none.
pub const DEFAULT_QUALIFICATION_DELAY: TimeDelta = TimeDelta::hours(1);

/// The next step after an attempt ended with `outcome`.
///
/// A failed outcome is retried after its [`crate::campaign::RetryRule::delay_secs`], pushed back
/// to the end of any profile cooldown it starts (UK: 72 h after an abandoned call unless `mode`
/// guarantees an agent, 24 h after a machine); the lead is [`LeadStatus::Exhausted`] once
/// `attempts_after` reaches that outcome's `max_attempts` or the campaign's.
///
/// [`Outcome::Human`] is the agent's to decide through [`after_qualification`], which replaces
/// this step. Until then the lead is parked as a retry after the longest call the campaign
/// allows plus [`QUALIFICATION_GRACE`], so a call that never gets qualified (agent gone, crash)
/// is neither lost nor redialed while the person may still be on the line.
pub fn after_outcome(
    settings: &CampaignSettings,
    mode: DialMode,
    outcome: Outcome,
    attempts_after: u32,
    now: DateTime<Utc>,
) -> NextStep {
    let campaign_max = settings.strategy.max_attempts;
    let (delay, max) = match settings.strategy.retry.for_outcome(outcome) {
        Some(rule) => (
            TimeDelta::seconds(i64::from(rule.delay_secs)),
            rule.max_attempts.min(campaign_max),
        ),
        None => (
            TimeDelta::seconds(i64::from(settings.compliance.max_call_secs)) + QUALIFICATION_GRACE,
            campaign_max,
        ),
    };
    if attempts_after >= max {
        return NextStep::Done {
            status: LeadStatus::Exhausted,
        };
    }
    let cooldown = settings
        .compliance
        .profile
        .repeat_cooldown(outcome, mode)
        .unwrap_or(TimeDelta::zero());
    NextStep::Retry {
        at: plus(now, delay.max(cooldown)),
    }
}

/// What an agent's qualification decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationOutcome {
    /// Whether and when to call the lead again.
    pub next: NextStep,
    /// The lead status to store: `next`'s, except [`LeadStatus::Callback`] for a callback.
    pub status: LeadStatus,
    /// Whether the number goes on the call center's do-not-call list.
    pub add_to_dnc: bool,
    /// Whether this was an explicit refusal (starts the French 60-day cooldown on the number).
    pub refusal: bool,
}

/// The next step after an agent qualified a call with `rule`.
///
/// - [`QualificationKind::DoNotCall`] and [`QualificationKind::WrongNumber`] always end the lead
///   (whatever `is_final` says), with the matching status.
/// - Any other final qualification ends it as [`LeadStatus::Done`].
/// - A callback is retried at `callback_at` when that is in the future, else after
///   `retry_delay_secs` (1 h when unset); its own `max_attempts` does not apply (the person
///   asked for the call) but the campaign cap does, since the hopper enforces it.
/// - Any other non-final qualification is retried after `retry_delay_secs` (1 h when unset),
///   unless `attempts_after` reached the rule's `max_attempts` or `campaign_max`: exhausted.
pub fn after_qualification(
    rule: &QualificationRule,
    callback_at: Option<DateTime<Utc>>,
    attempts_after: u32,
    campaign_max: u32,
    now: DateTime<Utc>,
) -> QualificationOutcome {
    let done = |status| NextStep::Done { status };
    let delay = rule
        .retry_delay_secs
        .map_or(DEFAULT_QUALIFICATION_DELAY, |s| {
            TimeDelta::seconds(i64::from(s))
        });
    let exhausted = attempts_after >= campaign_max;
    let next = match rule.kind {
        QualificationKind::DoNotCall => done(LeadStatus::DoNotCall),
        QualificationKind::WrongNumber => done(LeadStatus::WrongNumber),
        _ if rule.is_final => done(LeadStatus::Done),
        _ if exhausted => done(LeadStatus::Exhausted),
        QualificationKind::Callback => NextStep::Retry {
            at: callback_at
                .filter(|at| *at > now)
                .unwrap_or_else(|| plus(now, delay)),
        },
        _ if rule.max_attempts.is_some_and(|max| attempts_after >= max) => {
            done(LeadStatus::Exhausted)
        }
        _ => NextStep::Retry {
            at: plus(now, delay),
        },
    };
    let status = match (rule.kind, next) {
        (QualificationKind::Callback, NextStep::Retry { .. }) => LeadStatus::Callback,
        _ => next.status(),
    };
    QualificationOutcome {
        next,
        status,
        add_to_dnc: rule.kind == QualificationKind::DoNotCall,
        refusal: matches!(
            rule.kind,
            QualificationKind::Negative | QualificationKind::DoNotCall
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::RegulatoryProfile;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 2, 10, 0, 0).unwrap()
    }

    fn retry_in(d: TimeDelta) -> NextStep {
        NextStep::Retry { at: now() + d }
    }

    const EXHAUSTED: NextStep = NextStep::Done {
        status: LeadStatus::Exhausted,
    };

    #[test]
    fn failed_outcomes_follow_their_rule() {
        let s = CampaignSettings::default();
        let m = DialMode::Predictive;
        let cases = [
            (Outcome::Busy, TimeDelta::minutes(10)),
            (Outcome::NoAnswer, TimeDelta::hours(1)),
            (Outcome::Congestion, TimeDelta::minutes(5)),
            (Outcome::Failed, TimeDelta::minutes(30)),
            (Outcome::Machine, TimeDelta::hours(4)),
            (Outcome::Abandoned, TimeDelta::hours(1)),
        ];
        for (outcome, delay) in cases {
            assert_eq!(
                after_outcome(&s, m, outcome, 1, now()),
                retry_in(delay),
                "{outcome}"
            );
        }
    }

    #[test]
    fn retries_run_out_per_outcome_and_per_campaign() {
        let mut s = CampaignSettings::default();
        let m = DialMode::Power;
        // busy ×5: attempts 1..=4 are retried, the 5th ends the lead.
        for n in 1..5 {
            assert_eq!(
                after_outcome(&s, m, Outcome::Busy, n, now()),
                retry_in(TimeDelta::minutes(10))
            );
        }
        assert_eq!(after_outcome(&s, m, Outcome::Busy, 5, now()), EXHAUSTED);
        assert_eq!(after_outcome(&s, m, Outcome::Failed, 2, now()), EXHAUSTED);
        assert_eq!(after_outcome(&s, m, Outcome::Machine, 3, now()), EXHAUSTED);
        // The campaign cap wins over a looser outcome rule.
        s.strategy.max_attempts = 3;
        assert_eq!(after_outcome(&s, m, Outcome::NoAnswer, 3, now()), EXHAUSTED);
        assert_eq!(after_outcome(&s, m, Outcome::Human, 3, now()), EXHAUSTED);
    }

    #[test]
    fn uk_cooldowns_push_retries_back() {
        let mut s = CampaignSettings::default();
        s.compliance.profile = RegulatoryProfile::Uk;
        assert_eq!(
            after_outcome(&s, DialMode::Predictive, Outcome::Abandoned, 1, now()),
            retry_in(TimeDelta::hours(72))
        );
        assert_eq!(
            after_outcome(&s, DialMode::Progressive, Outcome::Abandoned, 1, now()),
            retry_in(TimeDelta::hours(1))
        );
        assert_eq!(
            after_outcome(&s, DialMode::Preview, Outcome::Machine, 1, now()),
            retry_in(TimeDelta::hours(24))
        );
        // A rule longer than the cooldown is kept.
        s.strategy.retry.machine.delay_secs = 2 * 86_400;
        assert_eq!(
            after_outcome(&s, DialMode::Power, Outcome::Machine, 1, now()),
            retry_in(TimeDelta::hours(48))
        );
        s.compliance.profile = RegulatoryProfile::Fr;
        assert_eq!(
            after_outcome(&s, DialMode::Predictive, Outcome::Abandoned, 1, now()),
            retry_in(TimeDelta::hours(1))
        );
    }

    #[test]
    fn human_waits_for_the_qualification() {
        let mut s = CampaignSettings::default();
        s.compliance.max_call_secs = 1_800;
        assert_eq!(
            after_outcome(&s, DialMode::Power, Outcome::Human, 1, now()),
            retry_in(TimeDelta::minutes(45))
        );
    }

    fn rule(kind: QualificationKind, is_final: bool) -> QualificationRule {
        QualificationRule {
            kind,
            is_final,
            retry_delay_secs: None,
            max_attempts: None,
        }
    }

    #[test]
    fn final_qualifications_end_the_lead() {
        let cases = [
            (
                QualificationKind::Positive,
                true,
                LeadStatus::Done,
                false,
                false,
            ),
            (
                QualificationKind::Negative,
                true,
                LeadStatus::Done,
                false,
                true,
            ),
            (
                QualificationKind::Neutral,
                true,
                LeadStatus::Done,
                false,
                false,
            ),
            (
                QualificationKind::DoNotCall,
                false,
                LeadStatus::DoNotCall,
                true,
                true,
            ),
            (
                QualificationKind::DoNotCall,
                true,
                LeadStatus::DoNotCall,
                true,
                true,
            ),
            (
                QualificationKind::WrongNumber,
                false,
                LeadStatus::WrongNumber,
                false,
                false,
            ),
        ];
        for (kind, is_final, status, dnc, refusal) in cases {
            let out = after_qualification(&rule(kind, is_final), None, 1, 10, now());
            assert_eq!(
                out,
                QualificationOutcome {
                    next: NextStep::Done { status },
                    status,
                    add_to_dnc: dnc,
                    refusal
                },
                "{kind}"
            );
        }
    }

    #[test]
    fn non_final_qualifications_retry_until_a_cap() {
        let mut r = rule(QualificationKind::Negative, false);
        let out = after_qualification(&r, None, 2, 10, now());
        assert_eq!(out.next, retry_in(TimeDelta::hours(1)));
        assert_eq!(out.status, LeadStatus::Retry);
        assert!(out.refusal);
        r.kind = QualificationKind::Neutral;
        r.retry_delay_secs = Some(86_400);
        r.max_attempts = Some(3);
        assert_eq!(
            after_qualification(&r, None, 2, 10, now()).next,
            retry_in(TimeDelta::days(1))
        );
        assert_eq!(after_qualification(&r, None, 3, 10, now()).next, EXHAUSTED);
        r.max_attempts = None;
        let out = after_qualification(&r, None, 10, 10, now());
        assert_eq!((out.next, out.status), (EXHAUSTED, LeadStatus::Exhausted));
    }

    #[test]
    fn callbacks() {
        let mut r = rule(QualificationKind::Callback, false);
        r.max_attempts = Some(1);
        let tomorrow = now() + TimeDelta::days(1);
        let out = after_qualification(&r, Some(tomorrow), 4, 10, now());
        assert_eq!(out.next, NextStep::Retry { at: tomorrow });
        assert_eq!(out.status, LeadStatus::Callback);
        assert!(!out.refusal && !out.add_to_dnc);
        // A time in the past, or none, falls back to the rule's delay, then to 1 h.
        let past = now() - TimeDelta::minutes(1);
        assert_eq!(
            after_qualification(&r, Some(past), 1, 10, now()).next,
            retry_in(TimeDelta::hours(1))
        );
        r.retry_delay_secs = Some(1_200);
        assert_eq!(
            after_qualification(&r, None, 1, 10, now()).next,
            retry_in(TimeDelta::minutes(20))
        );
        let out = after_qualification(&r, Some(tomorrow), 10, 10, now());
        assert_eq!((out.next, out.status), (EXHAUSTED, LeadStatus::Exhausted));
    }

    #[test]
    fn names_match_serde() {
        for o in Outcome::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
            assert_eq!(o.as_str().parse::<Outcome>().unwrap(), *o);
        }
        for k in QualificationKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(k.as_str().parse::<QualificationKind>().unwrap(), *k);
        }
        for s in LeadStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.as_str().parse::<LeadStatus>().unwrap(), *s);
        }
        assert!("voicemail".parse::<Outcome>().is_err());
        assert_eq!(
            serde_json::to_value(NextStep::Done {
                status: LeadStatus::Exhausted
            })
            .unwrap(),
            serde_json::json!({"step": "done", "status": "exhausted"})
        );
    }
}
