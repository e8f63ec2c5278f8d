//! The hopper over the database: which of a campaign's leads to dial now, claimed so that two
//! callpro instances never dial the same lead at once.
//!
//! The rules themselves (calling windows in the lead's time zone, holidays, attempt caps and
//! cooldowns per regulatory profile, do-not-call) are `callpro_dialer::hopper`'s; this module
//! feeds them from the tables and writes their verdicts back:
//! - picked leads are claimed with a conditional `UPDATE` (a claim that lost the race to
//!   another instance counts zero rows and is skipped);
//! - deferred leads get `next_attempt_at` set to when they may next be dialed, so the next
//!   scans skip them cheaply;
//! - closed leads (do-not-call, campaign attempt cap) leave the hopper for good.

use std::collections::{HashMap, HashSet};

use callpro_dialer::campaign::{CampaignSettings, DialMode};
use callpro_dialer::compliance::AttemptHistory;
use callpro_dialer::hopper::{self, Candidate, Reason, Rules};
use callpro_dialer::phone;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{call_attempts, leads};
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::models::campaign::Campaign;
use crate::models::dnc::Dnc;
use crate::models::lead::{IN_CHUNK, Lead};

/// Statuses of leads still in the hopper.
pub const DIALABLE: [&str; 3] = ["new", "retry", "callback"];

/// How many candidate rows one selection reads per lead wanted (the rest may be deferred).
const SCAN_FACTOR: usize = 20;
/// Fewest candidate rows read per selection.
const MIN_SCAN: usize = 200;

/// What one selection did.
#[derive(Debug, Default)]
pub struct Claimed {
    /// The leads claimed for dialing, best first.
    pub leads: Vec<Lead>,
    /// Leads pushed to a later time (window closed, retry not due, cooldown).
    pub deferred: usize,
    /// Leads closed for good (do-not-call, attempt cap).
    pub closed: usize,
}

/// The time zones a lead may be in: its own, else its country's, else none (the campaign's).
pub fn zones_of(lead: &Lead) -> Vec<chrono_tz::Tz> {
    if let Some(tz) = lead.time_zone.as_deref().and_then(phone::parse_time_zone) {
        return vec![tz];
    }
    lead.region
        .as_deref()
        .map(|r| phone::zones_for_region(r).to_vec())
        .unwrap_or_default()
}

/// The company-wide history of each number over the last 60 days (the longest cooldown).
pub fn histories(
    conn: &mut DbConn,
    call_center_id: i64,
    phones: &[String],
    now: DateTime<Utc>,
) -> QueryResult<HashMap<String, AttemptHistory>> {
    let since_30 = (now - Duration::days(30)).naive_utc();
    let since_60 = (now - Duration::days(60)).naive_utc();
    let mut out: HashMap<String, AttemptHistory> = HashMap::new();
    for chunk in phones.chunks(IN_CHUNK) {
        let rows: Vec<(String, NaiveDateTime, Option<String>, bool)> = call_attempts::table
            .filter(call_attempts::call_center_id.eq(call_center_id))
            .filter(call_attempts::phone.eq_any(chunk))
            .filter(call_attempts::started_at.ge(since_60))
            .select((
                call_attempts::phone,
                call_attempts::started_at,
                call_attempts::outcome,
                call_attempts::refusal,
            ))
            .load(conn)?;
        for (number, at, outcome, refusal) in rows {
            let h = out.entry(number).or_default();
            let at_utc = at.and_utc();
            if at >= since_30 {
                h.attempts_30d += 1;
            }
            let latest = |slot: &mut Option<DateTime<Utc>>| {
                if slot.is_none_or(|t| t < at_utc) {
                    *slot = Some(at_utc);
                }
            };
            if refusal {
                latest(&mut h.last_refusal_at);
            }
            match outcome.as_deref() {
                Some("abandoned") => latest(&mut h.last_abandoned_at),
                Some("machine") => latest(&mut h.last_machine_at),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// One request to the hopper.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// The claiming instance.
    pub runner: &'a str,
    /// Leads wanted.
    pub want: usize,
    /// The time the rules are judged at.
    pub now: DateTime<Utc>,
    /// How long the claim holds if the dial never reports back.
    pub lease: Duration,
}

/// Selects up to `want` leads of `campaign` that may be dialed at `now` and claims them for
/// `runner` until `now + lease`. Runs in one write transaction.
pub fn claim(
    conn: &mut DbConn,
    campaign: &Campaign,
    settings: &CampaignSettings,
    mode: DialMode,
    request: ClaimRequest<'_>,
) -> Result<Claimed, ApiError> {
    let ClaimRequest {
        runner,
        want,
        now,
        lease,
    } = request;
    if want == 0 {
        return Ok(Claimed::default());
    }
    db::write_transaction(conn, |conn| {
        let now_naive = now.naive_utc();
        let scan = (want * SCAN_FACTOR).max(MIN_SCAN);
        let rows: Vec<Lead> = leads::table
            .filter(leads::campaign_id.eq(campaign.id))
            .filter(leads::status.eq_any(DIALABLE))
            .filter(
                leads::next_attempt_at
                    .is_null()
                    .or(leads::next_attempt_at.le(now_naive)),
            )
            .filter(
                leads::claimed_until
                    .is_null()
                    .or(leads::claimed_until.lt(now_naive)),
            )
            .order((
                leads::priority.desc(),
                leads::created_at.asc(),
                leads::id.asc(),
            ))
            .limit(i64::try_from(scan).unwrap_or(i64::MAX))
            .select(Lead::as_select())
            .load(conn)?;
        if rows.is_empty() {
            return Ok(Claimed::default());
        }
        let phones: Vec<String> = rows
            .iter()
            .map(|l| l.phone.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let dnc = Dnc::listed(conn, campaign.call_center_id, &phones)?;
        let history = histories(conn, campaign.call_center_id, &phones, now)?;
        let candidates: Vec<Candidate> = rows
            .iter()
            .map(|l| Candidate {
                lead_id: l.id,
                phone: l.phone.clone(),
                zones: zones_of(l),
                priority: l.priority,
                created_at: l.created_at.and_utc(),
                next_attempt_at: l.next_attempt_at.map(|t| t.and_utc()),
                attempts: u32::try_from(l.attempts).unwrap_or(0),
            })
            .collect();
        let rules = Rules { mode, settings };
        let selection = hopper::select(
            &rules,
            &candidates,
            |number| history.get(number).cloned().unwrap_or_default(),
            |number| dnc.contains(number),
            now,
            want,
        );

        for (id, at, reason) in &selection.deferred {
            diesel::update(leads::table.find(id))
                .set((
                    leads::next_attempt_at.eq(Some(at.naive_utc())),
                    leads::updated_at.eq(now_naive),
                ))
                .execute(conn)?;
            tracing::trace!(lead = id, reason = reason.as_str(), "lead deferred");
        }
        for (id, reason) in &selection.closed {
            let status = match reason {
                Reason::DoNotCall => "do_not_call",
                _ => "exhausted",
            };
            diesel::update(leads::table.find(id))
                .set((
                    leads::status.eq(status),
                    leads::next_attempt_at.eq(None::<NaiveDateTime>),
                    leads::updated_at.eq(now_naive),
                ))
                .execute(conn)?;
        }

        let until = (now + lease).naive_utc();
        let by_id: HashMap<i64, &Lead> = rows.iter().map(|l| (l.id, l)).collect();
        let mut claimed = Vec::with_capacity(selection.picked.len());
        for id in &selection.picked {
            let won = diesel::update(
                leads::table.find(id).filter(
                    leads::claimed_until
                        .is_null()
                        .or(leads::claimed_until.lt(now_naive)),
                ),
            )
            .set((
                leads::claimed_by.eq(Some(runner)),
                leads::claimed_until.eq(Some(until)),
            ))
            .execute(conn)?;
            if let (1, Some(lead)) = (won, by_id.get(id)) {
                let mut lead = (*lead).clone();
                lead.claimed_by = Some(runner.to_owned());
                lead.claimed_until = Some(until);
                claimed.push(lead);
            }
        }
        Ok(Claimed {
            leads: claimed,
            deferred: selection.deferred.len(),
            closed: selection.closed.len(),
        })
    })
}
