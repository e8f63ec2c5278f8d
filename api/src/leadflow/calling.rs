//! The confirmation call: a confirmed lead enters its form's confirmation campaign, and what
//! the calls give moves the lead.
//!
//! One `leads` row serves both sides: the dialer reads `campaign_id`, `status` and
//! `next_attempt_at`; the confirmation desk reads `stage`. This module keeps them in step:
//! - [`enroll`] puts a lead whose email is confirmed (or that arrived without double opt-in)
//!   into the form's confirmation campaign, unless the campaign already holds its number;
//! - [`campaign_outcome`] turns the qualification of a campaign call (or the dialer giving up
//!   on the number) into the lead's stage;
//! - [`stop_dialing`] takes a lead whose confirmation is over out of the campaign's selection,
//!   whoever closed it (agent, supervisor, dialer).

use callpro_dialer::retry::{LeadStatus, QualificationKind};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DbError};
use serde_json::json;

use super::{EventKind, Stage, Transition, record, stage_of, transition};
use crate::db::DbConn;
use crate::db::schema::leads;
use crate::error::ApiError;
use crate::models::form::Form;
use crate::models::lead::Lead;
use crate::outbound::hopper::DIALABLE;

/// Puts `lead` into `form`'s confirmation campaign, to be called as a new lead. Does nothing
/// when the form has none or the lead is in a campaign already; when the campaign holds the
/// same number through another lead, the lead stays out (agents call it from the desk) and the
/// timeline says why.
pub fn enroll(
    conn: &mut DbConn,
    form: &Form,
    lead: &Lead,
    now: NaiveDateTime,
) -> Result<Lead, ApiError> {
    let Some(campaign_id) = form.confirmation_campaign_id else {
        return Ok(lead.clone());
    };
    if lead.campaign_id.is_some() {
        return Ok(lead.clone());
    }
    // A savepoint: on PostgreSQL a unique violation would otherwise end the whole transaction.
    let moved = conn.transaction(|conn| {
        diesel::update(
            leads::table
                .find(lead.id)
                .filter(leads::campaign_id.is_null()),
        )
        .set((
            leads::campaign_id.eq(Some(campaign_id)),
            leads::status.eq(LeadStatus::New.as_str()),
            leads::attempts.eq(0),
            leads::next_attempt_at.eq(None::<NaiveDateTime>),
            leads::claimed_by.eq(None::<String>),
            leads::claimed_until.eq(None::<NaiveDateTime>),
            leads::updated_at.eq(now),
        ))
        .execute(conn)
    });
    match moved {
        Ok(1) => {
            record(
                conn,
                lead,
                EventKind::Enrolled,
                None,
                json!({"campaign_id": campaign_id}),
                now,
            )?;
        }
        Ok(_) => {}
        Err(DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            let other: Option<i64> = leads::table
                .filter(leads::campaign_id.eq(campaign_id))
                .filter(leads::phone.eq(&lead.phone))
                .select(leads::id)
                .first(conn)
                .optional()?;
            record(
                conn,
                lead,
                EventKind::EnrollmentSkipped,
                None,
                json!({
                    "campaign_id": campaign_id,
                    "reason": "the campaign already holds this number",
                    "other_lead_id": other,
                }),
                now,
            )?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Lead::find(conn, lead.id)?)
}

/// What a campaign call (or the dialer) decided about a lead.
#[derive(Debug, Clone, Copy)]
pub struct CampaignOutcome<'a> {
    /// The call's reference.
    pub call_id: &'a str,
    /// The qualification's code, when an agent qualified the call.
    pub qualification: Option<&'a str>,
    /// What the qualification means, when an agent qualified the call.
    pub kind: Option<QualificationKind>,
    /// The lead's dialer status after it.
    pub status: LeadStatus,
    /// Who qualified.
    pub actor: Option<i64>,
    /// When.
    pub at: NaiveDateTime,
}

/// Moves an `assigned` form lead after one of its campaign calls: a positive qualification
/// confirms it, a refusal or a do-not-call request rejects it, a wrong number or the dialer
/// running out of attempts makes it unreachable; anything else (neutral, callback, a retry)
/// leaves it assigned. Leads that did not come from a form, or are past `assigned`, only get
/// nothing.
pub fn campaign_outcome(
    conn: &mut DbConn,
    lead: &Lead,
    outcome: CampaignOutcome<'_>,
) -> Result<(), ApiError> {
    if lead.form_id.is_none() || stage_of(lead) != Stage::Assigned {
        return Ok(());
    }
    let detail = json!({
        "call_id": outcome.call_id,
        "campaign_id": lead.campaign_id,
        "qualification": outcome.qualification,
        "kind": outcome.kind.as_ref().map(QualificationKind::as_str),
        "lead_status": outcome.status.as_str(),
    });
    if outcome.kind.is_some() {
        record(
            conn,
            lead,
            EventKind::Qualified,
            outcome.actor,
            detail.clone(),
            outcome.at,
        )?;
    }
    let to = match (outcome.kind, outcome.status) {
        (Some(QualificationKind::Positive), _) => Stage::CallConfirmed,
        (Some(QualificationKind::Negative | QualificationKind::DoNotCall), _) => Stage::Rejected,
        (Some(QualificationKind::WrongNumber), _) | (_, LeadStatus::Exhausted) => {
            Stage::Unreachable
        }
        _ => return Ok(()),
    };
    transition(
        conn,
        lead,
        Transition {
            to,
            actor: outcome.actor,
            detail,
            at: outcome.at,
        },
    )?;
    Ok(())
}

/// Takes a lead that reached `to` out of its campaign's selection when `to` ends the
/// confirmation (confirmed, rejected, unreachable, converted, invalid). The lead's
/// do-not-call or exhausted status, when it has one, stays.
pub(super) fn stop_dialing(
    conn: &mut DbConn,
    lead: &Lead,
    to: Stage,
    now: NaiveDateTime,
) -> QueryResult<()> {
    if lead.campaign_id.is_none() || !to_ends(to) {
        return Ok(());
    }
    diesel::update(
        leads::table
            .find(lead.id)
            .filter(leads::status.eq_any(DIALABLE)),
    )
    .set((
        leads::status.eq(LeadStatus::Done.as_str()),
        leads::next_attempt_at.eq(None::<NaiveDateTime>),
        leads::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Whether a lead in `stage` is through with its confirmation call.
fn to_ends(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::CallConfirmed
            | Stage::Rejected
            | Stage::Unreachable
            | Stage::Converted
            | Stage::Invalid
    )
}

/// Plans the desk's callback in the campaign too, when the lead is in one: the dialer calls
/// it again at `at`.
pub fn plan_callback(conn: &mut DbConn, lead: &Lead, at: NaiveDateTime) -> QueryResult<()> {
    if lead.campaign_id.is_none() {
        return Ok(());
    }
    diesel::update(
        leads::table
            .find(lead.id)
            .filter(leads::status.eq_any(DIALABLE)),
    )
    .set((
        leads::status.eq(LeadStatus::Callback.as_str()),
        leads::next_attempt_at.eq(Some(at)),
    ))
    .execute(conn)?;
    Ok(())
}
