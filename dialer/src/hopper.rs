//! The hopper: which leads may be dialed now, and in what order.
//!
//! [`check`] judges one lead against, in order: the do-not-call list, the campaign's attempt
//! cap, its retry time, the profile's per-number caps and cooldowns, then the windows. A lead
//! can be dialed only when the campaign is open (its weekly hours in its own time zone, outside
//! its holidays) and the law allows calling in every one of the lead's time zones (the legal
//! windows in local wall-clock time, outside local public holidays). [`next_open`] finds when
//! all of those are next open at once; [`select`] picks the leads to dial from a batch.
//!
//! # Time zones and DST
//! A window is open at an instant when the wall clock of its zone shows a time inside it at
//! that instant. So in a spring-forward gap the skipped local times simply never occur: a window
//! starting in the gap opens at the first instant after it (e.g. a 02:30 start on the night
//! Paris goes 02:00 → 03:00 opens at 03:00 CEST), and a window entirely inside the gap does not
//! open that day. In a fall-back overlap the repeated local times occur twice and a window
//! covering them is open both times. [`next_open`] tests only the instants where some window may
//! open (every mapping of each window start into UTC, plus each zone's offset changes) instead
//! of stepping through time, and checks each candidate against the full rule.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, Offset, TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::campaign::{CampaignSettings, DialMode, Window, names};
use crate::compliance::{AttemptHistory, plus};

/// How far ahead [`next_open`] looks.
pub const HORIZON: TimeDelta = TimeDelta::days(14);

/// One lead as the hopper sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The lead.
    pub lead_id: i64,
    /// The number to dial, normalized (two leads with the same string are the same number).
    pub phone: String,
    /// The lead's time zone, or every zone its number may be in when only the country is known
    /// (then each must be open). Empty: the campaign's time zone.
    pub zones: Vec<Tz>,
    /// Higher is dialed first.
    pub priority: i32,
    /// When the lead was created; older is dialed first at equal priority.
    pub created_at: DateTime<Utc>,
    /// Not before this instant (retry or callback time).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Attempts already made in the campaign.
    pub attempts: u32,
}

/// What the hopper judges leads against.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The campaign's dial mode (UK cooldowns depend on it).
    pub mode: DialMode,
    /// The campaign's settings.
    pub settings: &'a CampaignSettings,
}

/// Why a lead may not be dialed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Outside the campaign's operating hours.
    OutsideCampaignHours,
    /// Outside the legal calling window in one of the lead's time zones.
    OutsideLegalWindow,
    /// A campaign holiday, or a public holiday where the lead is.
    Holiday,
    /// The lead's next attempt time has not come.
    RetryNotDue,
    /// The number had its 30-day quota of attempts (France).
    #[serde(rename = "attempt_cap_30_days")]
    AttemptCap30Days,
    /// The number's owner refused calls recently (France: 60 days).
    RefusalCooldown,
    /// A call to the number was abandoned recently (UK: 72 h).
    AbandonCooldown,
    /// A call to the number reached an answering machine recently (UK: 24 h).
    MachineCooldown,
    /// The lead had the campaign's maximum number of attempts.
    CampaignAttemptCap,
    /// The number is on the do-not-call list.
    DoNotCall,
}

names!(Reason, "reason",
    OutsideCampaignHours => "outside_campaign_hours",
    OutsideLegalWindow => "outside_legal_window",
    Holiday => "holiday",
    RetryNotDue => "retry_not_due",
    AttemptCap30Days => "attempt_cap_30_days",
    RefusalCooldown => "refusal_cooldown",
    AbandonCooldown => "abandon_cooldown",
    MachineCooldown => "machine_cooldown",
    CampaignAttemptCap => "campaign_attempt_cap",
    DoNotCall => "do_not_call",
);

/// The hopper's judgement on one lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// May be dialed now.
    Eligible,
    /// Not now. `at` is the earliest instant every known condition is met (retry time, holds
    /// and windows together), or, when no window opens within [`HORIZON`], the instant to look
    /// again; `reason` is the first condition that fails now.
    Later {
        /// When to look at the lead again.
        at: DateTime<Utc>,
        /// Why not now.
        reason: Reason,
    },
    /// Never, in this campaign.
    Never {
        /// Why.
        reason: Reason,
    },
}

/// What [`select`] decided for a batch of leads. Eligible leads it did not pick (over `want`,
/// or sharing a number with a picked lead) are in none of the lists: they stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Leads to dial now, best first.
    pub picked: Vec<i64>,
    /// Leads to look at again later: (lead, when, why not now).
    pub deferred: Vec<(i64, DateTime<Utc>, Reason)>,
    /// Leads never to dial in this campaign: (lead, why).
    pub closed: Vec<(i64, Reason)>,
}

/// Judges one lead at `now`. `history` is its number's history across the call center;
/// `on_dnc` whether the number is on a do-not-call list.
pub fn check(
    rules: &Rules<'_>,
    c: &Candidate,
    history: &AttemptHistory,
    on_dnc: bool,
    now: DateTime<Utc>,
) -> Verdict {
    judge(rules, c, history, on_dnc, now, &mut |zones, from| {
        windows_verdict(rules, zones, from)
    })
}

/// Picks up to `want` leads to dial now from `candidates`: the eligible ones by priority (higher
/// first), then age (older first), then id, never two with the same number. Every lead that is
/// not eligible is reported in `deferred` or `closed`.
pub fn select<'a>(
    rules: &Rules<'_>,
    candidates: impl IntoIterator<Item = &'a Candidate>,
    history: impl Fn(&str) -> AttemptHistory,
    on_dnc: impl Fn(&str) -> bool,
    now: DateTime<Utc>,
    want: usize,
) -> Selection {
    // Most leads share a few zone sets and are judged at `now`: compute those windows once.
    let mut at_now: HashMap<Vec<Tz>, Option<(DateTime<Utc>, Reason)>> = HashMap::new();
    let mut windows = |zones: &[Tz], from: DateTime<Utc>| {
        if from != now {
            return windows_verdict(rules, zones, from);
        }
        if let Some(known) = at_now.get(zones) {
            return *known;
        }
        let verdict = windows_verdict(rules, zones, from);
        at_now.insert(zones.to_vec(), verdict);
        verdict
    };
    let mut selection = Selection::default();
    let mut eligible = Vec::new();
    for c in candidates {
        match judge(
            rules,
            c,
            &history(&c.phone),
            on_dnc(&c.phone),
            now,
            &mut windows,
        ) {
            Verdict::Eligible => eligible.push(c),
            Verdict::Later { at, reason } => selection.deferred.push((c.lead_id, at, reason)),
            Verdict::Never { reason } => selection.closed.push((c.lead_id, reason)),
        }
    }
    eligible.sort_by_key(|c| (Reverse(c.priority), c.created_at, c.lead_id));
    let mut numbers = HashSet::new();
    for c in eligible {
        if selection.picked.len() >= want {
            break;
        }
        if numbers.insert(c.phone.as_str()) {
            selection.picked.push(c.lead_id);
        }
    }
    selection
}

/// The earliest instant at or after `from` when the campaign is open and the law allows
/// calling in every one of `zones` (empty: the campaign's zone), looking [`HORIZON`] ahead.
pub fn next_open(rules: &Rules<'_>, zones: &[Tz], from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let zones = lead_zones(rules, zones);
    if closed_reason(rules, zones, from).is_none() {
        return Some(from);
    }
    let schedule = &rules.settings.schedule;
    let profile = rules.settings.compliance.profile;
    let end = plus(from, HORIZON);
    // One day at a time, so the usual answer (within a day or two) costs little.
    let mut day_start = from;
    while day_start < end {
        let day_end = plus(day_start, TimeDelta::days(1)).min(end);
        let mut candidates = Vec::new();
        opening_candidates(
            schedule.time_zone,
            |day| schedule.windows.for_weekday(day),
            (day_start, day_end),
            &mut candidates,
        );
        for &tz in zones {
            opening_candidates(
                tz,
                |day| profile.legal_windows(day),
                (day_start, day_end),
                &mut candidates,
            );
        }
        candidates.sort_unstable();
        candidates.dedup();
        if let Some(t) = candidates
            .into_iter()
            .find(|t| closed_reason(rules, zones, *t).is_none())
        {
            return Some(t);
        }
        day_start = day_end;
    }
    None
}

/// The windows part of a verdict at `from`: `None` when open, else when to look again (the
/// next opening, or the end of the horizon when there is none) and why it is closed at `from`.
fn windows_verdict(
    rules: &Rules<'_>,
    zones: &[Tz],
    from: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Reason)> {
    let zones = lead_zones(rules, zones);
    let reason = closed_reason(rules, zones, from)?;
    let at = next_open(rules, zones, from).unwrap_or_else(|| plus(from, HORIZON));
    Some((at, reason))
}

/// The zones a lead's legal windows are read in: its own, or the campaign's when it has none.
fn lead_zones<'z>(rules: &Rules<'z>, zones: &'z [Tz]) -> &'z [Tz] {
    if zones.is_empty() {
        std::slice::from_ref(&rules.settings.schedule.time_zone)
    } else {
        zones
    }
}

fn judge(
    rules: &Rules<'_>,
    c: &Candidate,
    history: &AttemptHistory,
    on_dnc: bool,
    now: DateTime<Utc>,
    windows: &mut impl FnMut(&[Tz], DateTime<Utc>) -> Option<(DateTime<Utc>, Reason)>,
) -> Verdict {
    if on_dnc {
        return Verdict::Never {
            reason: Reason::DoNotCall,
        };
    }
    if c.attempts >= rules.settings.strategy.max_attempts {
        return Verdict::Never {
            reason: Reason::CampaignAttemptCap,
        };
    }
    let mut first = None;
    let mut not_before = now;
    if let Some(at) = c.next_attempt_at.filter(|at| *at > now) {
        first = Some(Reason::RetryNotDue);
        not_before = at;
    }
    let profile = rules.settings.compliance.profile;
    if let Some(hold) = profile.hold(rules.mode, history, now) {
        first = first.or(Some(hold.reason));
        not_before = not_before.max(hold.until);
    }
    match (windows(&c.zones, not_before), first) {
        (None, None) => Verdict::Eligible,
        (None, Some(reason)) => Verdict::Later {
            at: not_before,
            reason,
        },
        (Some((at, closed)), first) => Verdict::Later {
            at,
            reason: first.unwrap_or(closed),
        },
    }
}

/// Why the windows are closed at `t` (`zones` not empty), or `None` when all are open.
fn closed_reason(rules: &Rules<'_>, zones: &[Tz], t: DateTime<Utc>) -> Option<Reason> {
    let schedule = &rules.settings.schedule;
    let local = t.with_timezone(&schedule.time_zone);
    if schedule.holidays.contains(&local.date_naive()) {
        return Some(Reason::Holiday);
    }
    if !open_in(schedule.windows.for_weekday(local.weekday()), &local) {
        return Some(Reason::OutsideCampaignHours);
    }
    let profile = rules.settings.compliance.profile;
    for tz in zones {
        let local = t.with_timezone(tz);
        if profile.is_legal_holiday(local.date_naive()) {
            return Some(Reason::Holiday);
        }
        if !open_in(profile.legal_windows(local.weekday()), &local) {
            return Some(Reason::OutsideLegalWindow);
        }
    }
    None
}

fn open_in(windows: &[Window], local: &DateTime<Tz>) -> bool {
    let time = local.time();
    windows.iter().any(|w| w.contains(time))
}

/// Adds to `out` every instant in `[from, to)` where one of `windows` may open in `tz`: each
/// UTC mapping of a window start (both of an ambiguous one; none of one in a gap) and each
/// change of the zone's UTC offset (which is where a window starting in a gap opens, and where
/// a fall-back can bring the clock back inside a window).
fn opening_candidates<'w>(
    tz: Tz,
    windows: impl Fn(Weekday) -> &'w [Window],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    out: &mut Vec<DateTime<Utc>>,
) {
    for date in local_dates(tz, from, to) {
        for w in windows(date.weekday()) {
            let instants = match tz.from_local_datetime(&date.and_time(w.start)) {
                LocalResult::Single(t) => [Some(t), None],
                LocalResult::Ambiguous(a, b) => [Some(a), Some(b)],
                LocalResult::None => [None, None],
            };
            out.extend(
                instants
                    .into_iter()
                    .flatten()
                    .map(|t| t.with_timezone(&Utc))
                    .filter(|t| (from..to).contains(t)),
            );
        }
    }
    if let Some(t) = offset_change(tz, from, to) {
        out.push(t);
    }
}

/// The local dates `tz` goes through in `[from, to)`, with a day of margin either side.
fn local_dates(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> impl Iterator<Item = NaiveDate> {
    let first = from.with_timezone(&tz).date_naive();
    let last = to.with_timezone(&tz).date_naive();
    let first = first.pred_opt().unwrap_or(first);
    first.iter_days().take_while(move |d| *d <= last)
}

/// The first instant in `(from, to]` with a different UTC offset in `tz` than at `from`, to the
/// second, assuming at most one change in the span (spans here are one day long).
fn offset_change(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let offset = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| tz.offset_from_utc_datetime(&t.naive_utc()).fix())
    };
    let (mut lo, mut hi) = (from.timestamp(), to.timestamp());
    let before = offset(lo)?;
    if offset(hi)? == before {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset(mid)? == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

#[cfg(test)]
mod tests;
