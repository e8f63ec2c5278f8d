//! The records of campaign calls (`call_attempts`) and what each outcome does to its lead.
//!
//! Every dial is a row written before the originate goes out, so a call Asterisk placed is
//! never without a record; the row then follows the call (answered, connected, ended) and the
//! lead gets its next step from `callpro_dialer::retry` in the same transaction as the outcome.

use callpro_dialer::campaign::{CampaignSettings, DialMode};
use callpro_dialer::retry::{self, LeadStatus, NextStep, Outcome};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{call_attempts, leads};
use crate::db::{self, DbConn};
use crate::leadflow::calling::{self, CampaignOutcome};
use crate::models::campaign::Campaign;
use crate::models::lead::Lead;
use crate::outbound::hopper::DIALABLE;

/// What the lead's next step is judged with.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    /// The campaign's settings.
    pub settings: &'a CampaignSettings,
    /// Its dial mode.
    pub mode: DialMode,
}

/// Records the dial of `lead` as `call_ref` through `trunk` and counts the attempt on the lead
/// (which stays claimed until the outcome).
pub fn dialed(
    conn: &mut DbConn,
    campaign: &Campaign,
    lead: &Lead,
    call_ref: &str,
    trunk: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let now = now.naive_utc();
    db::write_transaction(conn, |conn| {
        diesel::insert_into(call_attempts::table)
            .values((
                call_attempts::call_center_id.eq(campaign.call_center_id),
                call_attempts::campaign_id.eq(Some(campaign.id)),
                call_attempts::lead_id.eq(Some(lead.id)),
                call_attempts::phone.eq(&lead.phone),
                call_attempts::call_ref.eq(call_ref),
                call_attempts::trunk.eq(Some(trunk)),
                call_attempts::started_at.eq(now),
                call_attempts::refusal.eq(false),
            ))
            .execute(conn)?;
        diesel::update(leads::table.find(lead.id))
            .set((
                leads::attempts.eq(leads::attempts + 1),
                leads::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Asterisk refused the originate: the call never existed. Its record goes, the attempt is
/// given back and the lead is free for the next selection.
pub fn refused(conn: &mut DbConn, call_ref: &str, lead_id: i64) -> QueryResult<()> {
    db::write_transaction(conn, |conn| {
        let gone =
            diesel::delete(call_attempts::table.filter(call_attempts::call_ref.eq(call_ref)))
                .execute(conn)?;
        if gone > 0 {
            diesel::update(leads::table.find(lead_id))
                .set((
                    leads::attempts.eq(leads::attempts - 1),
                    leads::claimed_by.eq(None::<String>),
                    leads::claimed_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The called party answered.
pub fn answered(conn: &mut DbConn, call_ref: &str, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(call_attempts::table.filter(call_attempts::call_ref.eq(call_ref)))
        .set(call_attempts::answered_at.eq(Some(now.naive_utc())))
        .execute(conn)?;
    Ok(())
}

/// Records answering-machine detection's verdict (`HUMAN`, `NOTSURE`, `MACHINE`, `HANGUP`).
pub fn detected(conn: &mut DbConn, call_ref: &str, verdict: &str) -> QueryResult<()> {
    diesel::update(call_attempts::table.filter(call_attempts::call_ref.eq(call_ref)))
        .set(call_attempts::amd_result.eq(Some(verdict)))
        .execute(conn)?;
    Ok(())
}

/// Sets the lead's status and next attempt from `next`, records `outcome` as its last one and
/// releases its claim. A lead taken out of the selection while the call was in flight (a
/// confirmation that ended, a do-not-call request) keeps the status it was given then: the
/// call's outcome must not put it back in the hopper.
fn move_lead(
    conn: &mut DbConn,
    lead_id: i64,
    outcome: Outcome,
    next: NextStep,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let next_at = match next {
        NextStep::Retry { at } => Some(at.naive_utc()),
        NextStep::Done { .. } => None,
    };
    diesel::update(leads::table.find(lead_id))
        .set((
            leads::last_outcome.eq(Some(outcome.as_str())),
            leads::claimed_by.eq(None::<String>),
            leads::claimed_until.eq(None::<NaiveDateTime>),
            leads::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(
        leads::table
            .find(lead_id)
            .filter(leads::status.eq_any(DIALABLE)),
    )
    .set((
        leads::status.eq(next.status().as_str()),
        leads::next_attempt_at.eq(next_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// The lead's attempts so far (this one included).
fn attempts_of(conn: &mut DbConn, lead_id: i64) -> QueryResult<u32> {
    let n: i32 = leads::table
        .find(lead_id)
        .select(leads::attempts)
        .first(conn)?;
    Ok(u32::try_from(n).unwrap_or(0))
}

/// A person answered and was connected to `agent`: the call counts as connected, and the lead
/// is parked until the agent qualifies the call (see `retry::after_outcome`).
pub fn connected(
    conn: &mut DbConn,
    judge: Judge<'_>,
    call_ref: &str,
    lead_id: i64,
    agent: i64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let naive = now.naive_utc();
    db::write_transaction(conn, |conn| {
        diesel::update(call_attempts::table.filter(call_attempts::call_ref.eq(call_ref)))
            .set((
                call_attempts::outcome.eq(Some(Outcome::Human.as_str())),
                call_attempts::connected_at.eq(Some(naive)),
                call_attempts::agent_user_id.eq(Some(agent)),
            ))
            .execute(conn)?;
        let attempts = attempts_of(conn, lead_id)?;
        let next = retry::after_outcome(judge.settings, judge.mode, Outcome::Human, attempts, now);
        move_lead(conn, lead_id, Outcome::Human, next, naive)
    })
}

/// A connected call hung up.
pub fn hung_up(conn: &mut DbConn, call_ref: &str, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(
        call_attempts::table
            .filter(call_attempts::call_ref.eq(call_ref))
            .filter(call_attempts::ended_at.is_null()),
    )
    .set(call_attempts::ended_at.eq(Some(now.naive_utc())))
    .execute(conn)?;
    Ok(())
}

/// The call ended without an agent (`outcome` is anything but [`Outcome::Human`]): the record
/// is closed and the lead moves to its next step.
pub fn ended(
    conn: &mut DbConn,
    judge: Judge<'_>,
    call_ref: &str,
    lead_id: i64,
    outcome: Outcome,
    amd: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let naive = now.naive_utc();
    db::write_transaction(conn, |conn| {
        diesel::update(call_attempts::table.filter(call_attempts::call_ref.eq(call_ref)))
            .set((
                call_attempts::outcome.eq(Some(outcome.as_str())),
                call_attempts::ended_at.eq(Some(naive)),
            ))
            .execute(conn)?;
        if let Some(verdict) = amd {
            detected(conn, call_ref, verdict)?;
        }
        let attempts = attempts_of(conn, lead_id)?;
        let next = retry::after_outcome(judge.settings, judge.mode, outcome, attempts, now);
        move_lead(conn, lead_id, outcome, next, naive)?;
        if next.status() == LeadStatus::Exhausted {
            // A form lead the confirmation campaign never reached becomes unreachable.
            let lead = Lead::find(conn, lead_id)?;
            let gave_up = CampaignOutcome {
                call_id: call_ref,
                qualification: None,
                kind: None,
                status: LeadStatus::Exhausted,
                actor: None,
                at: naive,
            };
            if let Err(e) = calling::campaign_outcome(conn, &lead, gave_up) {
                tracing::warn!(lead_id, error = %e, "could not mark the lead unreachable");
            }
        }
        Ok(())
    })
}
