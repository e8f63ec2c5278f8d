//! The confirmation lifecycle of a lead, in one place.
//!
//! ```text
//! new ─▶ pending_email ─▶ email_confirmed ─▶ assigned ─▶ call_confirmed ─▶ converted
//!  │           │                                 │  ▲
//!  │           └──────────▶ unreachable ◀────────┤  └── (reassigned, or called again)
//!  └──────────────────────────────────▶ assigned ├──▶ rejected
//!                                                └──▶ unreachable
//! any stage but `converted` ─▶ invalid
//! ```
//!
//! Every change goes through [`transition`], which refuses what the diagram does not allow,
//! applies it with a conditional `UPDATE` (a concurrent change makes it fail instead of being
//! overwritten) and writes the timeline entry in the same transaction.

pub mod calling;
pub mod distribute;
pub mod intake;
pub mod reminders;
pub mod search;
pub mod throttle;
pub mod token;
pub mod writer;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::schema::{lead_events, leads};
use crate::error::ApiError;
use crate::models::lead::Lead;

/// Where a lead stands in its confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Arrived, nothing done yet (also every lead imported for the dialer).
    New,
    /// The double opt-in email is out; waiting for the click.
    PendingEmail,
    /// The person followed the link.
    EmailConfirmed,
    /// An agent has it to call.
    Assigned,
    /// The agent's call confirmed it.
    CallConfirmed,
    /// The person declined on the call.
    Rejected,
    /// Never reached (no click after the reminders, or no answer).
    Unreachable,
    /// Turned into business.
    Converted,
    /// Junk, a duplicate or a test.
    Invalid,
}

impl Stage {
    /// Every stage, in lifecycle order.
    pub const ALL: [Stage; 9] = [
        Stage::New,
        Stage::PendingEmail,
        Stage::EmailConfirmed,
        Stage::Assigned,
        Stage::CallConfirmed,
        Stage::Rejected,
        Stage::Unreachable,
        Stage::Converted,
        Stage::Invalid,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::PendingEmail => "pending_email",
            Stage::EmailConfirmed => "email_confirmed",
            Stage::Assigned => "assigned",
            Stage::CallConfirmed => "call_confirmed",
            Stage::Rejected => "rejected",
            Stage::Unreachable => "unreachable",
            Stage::Converted => "converted",
            Stage::Invalid => "invalid",
        }
    }

    /// Reads a stored name.
    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the lifecycle allows going from `self` to `to`.
    pub fn can_become(self, to: Stage) -> bool {
        use Stage::*;
        match (self, to) {
            (Converted, _) => false,
            (from, Invalid) => from != Invalid,
            (New, PendingEmail | Assigned) => true,
            (PendingEmail, EmailConfirmed | Unreachable) => true,
            (EmailConfirmed, Assigned) => true,
            (Assigned, CallConfirmed | Rejected | Unreachable) => true,
            // A supervisor hands a lead that was not reached to an agent again.
            (Unreachable, Assigned) => true,
            (CallConfirmed, Converted | Rejected) => true,
            _ => false,
        }
    }

    /// Whether a lead in this stage is work in progress for its agent (counts against the
    /// agent's open-lead cap).
    pub fn is_open(self) -> bool {
        self == Stage::Assigned
    }
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The form was posted.
    Submitted,
    /// An email to the lead was queued.
    EmailQueued,
    /// The stage changed.
    StageChanged,
    /// The lead was given to an agent (or to another one).
    Assigned,
    /// No agent could take it (none eligible, or all at their cap).
    AssignmentPending,
    /// The agent qualified the confirmation call.
    Qualified,
    /// A callback was planned.
    CallbackPlanned,
    /// A note was added, changed or deleted.
    Note,
    /// The sweeper notified users about the lead (its agent, or its center's supervisors and
    /// owners); not activity on the lead itself.
    Notified,
    /// Someone called the lead from the desk (click-to-call).
    CallStarted,
    /// The lead entered its form's confirmation campaign.
    Enrolled,
    /// The lead could not enter the confirmation campaign (it holds the number already).
    EnrollmentSkipped,
}

impl EventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Submitted => "submitted",
            EventKind::EmailQueued => "email_queued",
            EventKind::StageChanged => "stage_changed",
            EventKind::Assigned => "assigned",
            EventKind::AssignmentPending => "assignment_pending",
            EventKind::Qualified => "qualified",
            EventKind::CallbackPlanned => "callback_planned",
            EventKind::Note => "note",
            EventKind::Notified => "notified",
            EventKind::CallStarted => "call_started",
            EventKind::Enrolled => "enrolled",
            EventKind::EnrollmentSkipped => "enrollment_skipped",
        }
    }
}

/// A timeline entry as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lead_events)]
pub struct LeadEvent {
    /// Primary key (orders the timeline).
    pub id: i64,
    /// The lead.
    pub lead_id: i64,
    /// Its call center.
    pub call_center_id: i64,
    /// [`EventKind`] name.
    pub kind: String,
    /// Stage before, for stage changes.
    pub from_stage: Option<String>,
    /// Stage after, for stage changes.
    pub to_stage: Option<String>,
    /// Who did it (`None`: the lead themself or the system).
    pub actor_user_id: Option<i64>,
    /// Details, as a JSON object.
    pub detail: String,
    /// When (UTC).
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = lead_events)]
struct NewLeadEvent<'a> {
    lead_id: i64,
    call_center_id: i64,
    kind: &'a str,
    from_stage: Option<&'a str>,
    to_stage: Option<&'a str>,
    actor_user_id: Option<i64>,
    detail: String,
    created_at: NaiveDateTime,
}

/// Appends an entry to `lead`'s timeline.
pub fn record(
    conn: &mut DbConn,
    lead: &Lead,
    kind: EventKind,
    actor: Option<i64>,
    detail: serde_json::Value,
    at: NaiveDateTime,
) -> QueryResult<()> {
    record_change(conn, lead, kind, None, actor, detail, at)
}

fn record_change(
    conn: &mut DbConn,
    lead: &Lead,
    kind: EventKind,
    change: Option<(Stage, Stage)>,
    actor: Option<i64>,
    detail: serde_json::Value,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let event = NewLeadEvent {
        lead_id: lead.id,
        call_center_id: lead.call_center_id,
        kind: kind.as_str(),
        from_stage: change.map(|(from, _)| from.as_str()),
        to_stage: change.map(|(_, to)| to.as_str()),
        actor_user_id: actor,
        detail: detail.to_string(),
        created_at: at,
    };
    diesel::insert_into(lead_events::table)
        .values(&event)
        .execute(conn)?;
    Ok(())
}

/// `lead`'s timeline, oldest first.
pub fn timeline(conn: &mut DbConn, lead_id: i64) -> QueryResult<Vec<LeadEvent>> {
    lead_events::table
        .filter(lead_events::lead_id.eq(lead_id))
        .order(lead_events::id.asc())
        .select(LeadEvent::as_select())
        .load(conn)
}

/// The stage a stored lead is in (`New` for a name this build does not know, which the
/// database CHECK rules out).
pub fn stage_of(lead: &Lead) -> Stage {
    Stage::parse(&lead.stage).unwrap_or(Stage::New)
}

/// One stage change to apply.
#[derive(Debug, Clone)]
pub struct Transition {
    /// Target stage.
    pub to: Stage,
    /// Who asks (`None`: the lead themself or the system).
    pub actor: Option<i64>,
    /// Why, and anything worth keeping, for the timeline.
    pub detail: serde_json::Value,
    /// When.
    pub at: NaiveDateTime,
}

/// Moves `lead` to `change.to` if the lifecycle allows it and nobody changed its stage
/// meanwhile; writes the timeline entry; returns the lead as stored now.
///
/// 409 `invalid_transition` when the diagram forbids it, 409 `stage_changed` when another
/// change won the race.
pub fn transition(conn: &mut DbConn, lead: &Lead, change: Transition) -> Result<Lead, ApiError> {
    let from = stage_of(lead);
    if !from.can_become(change.to) {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!(
                "a lead in stage {} cannot become {}",
                from.as_str(),
                change.to.as_str()
            ),
        ));
    }
    let updated = diesel::update(
        leads::table
            .find(lead.id)
            .filter(leads::stage.eq(from.as_str())),
    )
    .set((
        leads::stage.eq(change.to.as_str()),
        leads::stage_changed_at.eq(Some(change.at)),
        leads::updated_at.eq(change.at),
    ))
    .execute(conn)?;
    if updated != 1 {
        return Err(ApiError::conflict(
            "stage_changed",
            "the lead changed meanwhile; reload it and try again",
        ));
    }
    calling::stop_dialing(conn, lead, change.to, change.at)?;
    record_change(
        conn,
        lead,
        EventKind::StageChanged,
        Some((from, change.to)),
        change.actor,
        change.detail,
        change.at,
    )?;
    Ok(Lead::find(conn, lead.id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
        assert_eq!(Stage::parse("nope"), None);
    }

    #[test]
    fn the_lifecycle_allows_what_the_diagram_shows() {
        use Stage::*;
        assert!(New.can_become(PendingEmail));
        assert!(New.can_become(Assigned));
        assert!(PendingEmail.can_become(EmailConfirmed));
        assert!(EmailConfirmed.can_become(Assigned));
        assert!(Assigned.can_become(CallConfirmed));
        assert!(CallConfirmed.can_become(Converted));
        assert!(Unreachable.can_become(Assigned));
        assert!(!New.can_become(CallConfirmed));
        assert!(!PendingEmail.can_become(Assigned));
        assert!(!Converted.can_become(Invalid));
        assert!(!Invalid.can_become(Invalid));
        assert!(!Rejected.can_become(Assigned));
        for stage in Stage::ALL {
            assert_eq!(
                stage.can_become(Invalid),
                !matches!(stage, Converted | Invalid)
            );
            assert!(!stage.can_become(New), "nothing goes back to new");
        }
    }
}
