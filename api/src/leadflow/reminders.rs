//! The lead sweeper: a tokio task per instance that, every `leads.sweep_secs`, runs one
//! [`run_once`] round over the leads that time has caught up with.
//!
//! 1. leads still `pending_email` `unreachable_after` after their submission become
//!    `unreachable` ("no confirmation");
//! 2. leads still `pending_email` past `created_at + reminder_after[k]` get reminder `k + 1`:
//!    a new link, the form's template with a "Reminder: " subject, in the outbox;
//! 3. confirmed leads nobody could take when they arrived (every agent at the cap, or none in
//!    the group) are offered to the form's agents again, and assigned as soon as one can;
//! 4. `assigned` leads without a timeline entry for `stale_after` notify their agent;
//! 5. and past `escalate_after`, the supervisors and owners of their center.
//!
//! Each step is one write transaction over a bounded batch, each lead inside it a savepoint (a
//! lead that fails is logged and left for the next round, without undoing the others). Every
//! change is a conditional `UPDATE` on the counter or the time it sets (`reminders_sent`,
//! `stale_notified_at`, `escalated_at`, the stage), so a round run twice, or by two instances
//! at once, sends and notifies nothing twice. The sweeper's own timeline entries
//! ([`EventKind::Notified`]) do not count as activity on the lead.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{EventKind, Stage, Transition, intake, record, token, transition};
use crate::db::schema::{lead_events, leads, users};
use crate::db::{self, DbConn};
use crate::error::{ApiError, QueryResultExt as _};
use crate::intake::form::Submission;
use crate::models::email_outbox::{Enqueue, Outbox};
use crate::models::email_template::EmailTemplate;
use crate::models::form::Form;
use crate::models::lead::Lead;
use crate::models::notification::{NewNotification, Notification};
use crate::models::user::Role;
use crate::state::AppState;

/// Leads handled per step and round.
pub const DEFAULT_BATCH: i64 = 200;

/// Kind of the notification to an agent whose lead went stale.
pub const LEAD_STALE: &str = "lead_stale";
/// Kind of the notifications to supervisors and owners about a lead left longer.
pub const LEAD_ESCALATED: &str = "lead_escalated";

/// Timing of the sweeper (from `[leads]`, see `LeadsSection::reminder_config`).
#[derive(Debug, Clone)]
pub struct ReminderConfig {
    /// Age of a `pending_email` lead at which each reminder goes out, increasing.
    pub reminder_after: Vec<Duration>,
    /// Age at which a `pending_email` lead becomes `unreachable`.
    pub unreachable_after: Duration,
    /// Time without a timeline entry after which an assigned lead notifies its agent.
    pub stale_after: Duration,
    /// Time without a timeline entry after which it notifies the supervisors and owners.
    pub escalate_after: Duration,
    /// Time between rounds.
    pub sweep: StdDuration,
    /// Leads handled per step and round.
    pub batch: i64,
    /// Public base URL of the confirmation links.
    pub public_url: String,
    /// How long a reminder's link works.
    pub token_ttl: Duration,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Leads moved to `unreachable`.
    pub unreachable: usize,
    /// Reminder emails queued.
    pub reminded: usize,
    /// Waiting leads assigned to an agent at last.
    pub assigned: usize,
    /// Stale leads notified to their agent.
    pub stale: usize,
    /// Stale leads escalated to supervisors and owners.
    pub escalated: usize,
    /// Leads (or whole steps) that failed and are left for the next round.
    pub failures: usize,
}

impl Round {
    fn is_idle(&self) -> bool {
        *self == Round::default()
    }
}

/// The running sweeper.
#[derive(Debug)]
pub struct SweeperHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SweeperHandle {
    /// Stops after the current round and waits for the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "lead sweeper ended abnormally");
        }
    }
}

/// Starts the sweeper of this instance: a round now, then one every `config.sweep`.
pub fn spawn(state: AppState, config: ReminderConfig) -> SweeperHandle {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let round = run_once(&state, &config, db::now()).await;
            if !round.is_idle() {
                tracing::info!(
                    unreachable = round.unreachable,
                    reminded = round.reminded,
                    assigned = round.assigned,
                    stale = round.stale,
                    escalated = round.escalated,
                    failures = round.failures,
                    "lead sweep"
                );
            }
            if *stopped.borrow() {
                break;
            }
            tokio::select! {
                _ = stopped.changed() => break,
                () = tokio::time::sleep(config.sweep) => {}
            }
        }
    });
    SweeperHandle { stop, task }
}

/// How one step went: leads done, leads failed.
type Tally = (usize, usize);

/// One step of a round, run inside its write transaction.
type Step = fn(&mut DbConn, &ReminderConfig, NaiveDateTime) -> Result<Tally, ApiError>;

/// Runs one round as of `now` (tests pass a time of their choosing). A step that fails as a
/// whole is logged and counted; the next steps run anyway.
pub async fn run_once(state: &AppState, config: &ReminderConfig, now: NaiveDateTime) -> Round {
    let mut round = Round::default();
    let steps: [(&str, Step); 5] = [
        ("unreachable", expire),
        ("reminders", remind),
        ("assignment", assign_waiting),
        ("stale", notify_stale),
        ("escalation", escalate),
    ];
    for (name, step) in steps {
        let c = config.clone();
        let outcome = state
            .db
            .run(move |conn| db::write_transaction(conn, |conn| step(conn, &c, now)))
            .await;
        let (done, failed) = match outcome {
            Ok(tally) => tally,
            Err(e) => {
                tracing::warn!(step = name, error = %e, "lead sweep step failed");
                (0, 1)
            }
        };
        round.failures += failed;
        let count = match name {
            "unreachable" => &mut round.unreachable,
            "reminders" => &mut round.reminded,
            "assignment" => &mut round.assigned,
            "stale" => &mut round.stale,
            _ => &mut round.escalated,
        };
        *count = done;
    }
    round
}

/// Runs `f` for each lead in its own savepoint; a failing lead is rolled back, logged and
/// counted, the others stay. `f` answers whether it changed anything.
fn each(
    conn: &mut DbConn,
    step: &str,
    leads: Vec<Lead>,
    mut f: impl FnMut(&mut DbConn, &Lead) -> Result<bool, ApiError>,
) -> Tally {
    let (mut done, mut failed) = (0, 0);
    for lead in leads {
        match conn.transaction(|conn| f(conn, &lead)) {
            Ok(true) => done += 1,
            Ok(false) => {}
            // Another instance (or a person) changed the lead meanwhile.
            Err(ApiError::Conflict { .. }) => {}
            Err(e) => {
                failed += 1;
                tracing::warn!(lead.id = lead.id, step, error = %e, "lead sweep skipped a lead");
            }
        }
    }
    (done, failed)
}

/// Step 1: `pending_email` leads past `unreachable_after` become `unreachable`.
fn expire(
    conn: &mut DbConn,
    config: &ReminderConfig,
    now: NaiveDateTime,
) -> Result<Tally, ApiError> {
    let cutoff = now - config.unreachable_after;
    let due = leads::table
        .filter(leads::stage.eq(Stage::PendingEmail.as_str()))
        .filter(leads::created_at.le(cutoff))
        .order(leads::id.asc())
        .limit(config.batch)
        .select(Lead::as_select())
        .load(conn)?;
    let hours = config.unreachable_after.num_hours();
    Ok(each(conn, "unreachable", due, |conn, lead| {
        transition(
            conn,
            lead,
            Transition {
                to: Stage::Unreachable,
                actor: None,
                detail: json!({"reason": "no confirmation", "after_hours": hours}),
                at: now,
            },
        )?;
        Ok(true)
    }))
}

/// How many reminders a lead submitted at `created_at` is due as of `now`.
fn reminders_due(config: &ReminderConfig, created_at: NaiveDateTime, now: NaiveDateTime) -> i32 {
    let n = config
        .reminder_after
        .iter()
        .filter(|after| created_at + **after <= now)
        .count();
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Step 2: reminders to `pending_email` leads whose next reminder is due. A lead that missed
/// several (the sweeper was off) gets one, counted as the latest due.
fn remind(
    conn: &mut DbConn,
    config: &ReminderConfig,
    now: NaiveDateTime,
) -> Result<Tally, ApiError> {
    let mut due = Vec::new();
    for (k, after) in config.reminder_after.iter().enumerate() {
        let room = config.batch - i64::try_from(due.len()).unwrap_or(i64::MAX);
        if room <= 0 {
            break;
        }
        let sent = i32::try_from(k).unwrap_or(i32::MAX);
        let mut found = leads::table
            .filter(leads::stage.eq(Stage::PendingEmail.as_str()))
            .filter(leads::reminders_sent.eq(sent))
            .filter(leads::created_at.le(now - *after))
            .order(leads::id.asc())
            .limit(room)
            .select(Lead::as_select())
            .load(conn)?;
        due.append(&mut found);
    }
    Ok(each(conn, "reminders", due, |conn, lead| {
        let n = reminders_due(config, lead.created_at, now);
        if n <= lead.reminders_sent {
            return Ok(false);
        }
        let won = diesel::update(
            leads::table
                .find(lead.id)
                .filter(leads::stage.eq(Stage::PendingEmail.as_str()))
                .filter(leads::reminders_sent.eq(lead.reminders_sent)),
        )
        .set(leads::reminders_sent.eq(n))
        .execute(conn)?;
        if won != 1 {
            return Ok(false);
        }
        send_reminder(conn, config, lead, n, now)
    }))
}

/// Queues reminder `n` to `lead`; whether one could be sent (a lead whose form is gone or no
/// longer sends emails gets none, and the reminder counts as done).
fn send_reminder(
    conn: &mut DbConn,
    config: &ReminderConfig,
    lead: &Lead,
    n: i32,
    now: NaiveDateTime,
) -> Result<bool, ApiError> {
    let form = match lead.form_id {
        Some(id) => Form::find(conn, id).optional()?,
        None => None,
    };
    let (Some(form), Some(to)) = (form, lead.email.as_deref()) else {
        tracing::info!(
            lead.id = lead.id,
            "no form or address to send a reminder to"
        );
        return Ok(false);
    };
    let (Some(profile_id), Some(template_id)) = (form.smtp_profile_id, form.email_template_id)
    else {
        tracing::info!(
            lead.id = lead.id,
            form.id = form.id,
            "the form sends no emails"
        );
        return Ok(false);
    };
    let token = token::issue(conn, lead.id, now, now + config.token_ttl)?;
    let confirm_url = format!("{}/confirm/{token}", config.public_url);
    let values = intake::email_values(&submission_of(lead), &confirm_url);
    let t = EmailTemplate::find(conn, template_id).or_not_found("email_template")?;
    let rendered = crate::handlers::email_templates::render(&t, &values)?;
    let subject = format!("Reminder: {}", rendered.subject);
    let email = Outbox::enqueue(
        conn,
        &Enqueue {
            call_center_id: lead.call_center_id,
            smtp_profile_id: profile_id,
            template_id: Some(template_id),
            lead_id: Some(lead.id),
            to,
            subject: &subject,
            html: &rendered.html_body,
            text: &rendered.text_body,
        },
    )
    .or_not_found("smtp_profile")?;
    record(
        conn,
        lead,
        EventKind::EmailQueued,
        None,
        json!({"email_id": email.id, "purpose": "reminder", "n": n, "to": to}),
        now,
    )?;
    Ok(true)
}

/// The submission a stored lead came from, as the template variables need it.
fn submission_of(lead: &Lead) -> Submission {
    let values = match serde_json::from_str(&lead.fields) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let company = values
        .get("company")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Submission {
        first_name: lead.first_name.clone(),
        last_name: lead.last_name.clone(),
        email: lead.email.clone(),
        phone: Some(lead.phone.clone()),
        region: lead.region.clone(),
        company,
        values,
    }
}

/// Step 3: confirmed leads still without an agent (`email_confirmed`, or `new` from a form
/// without double opt-in) go to the first agent of their form's pool who can take one. A
/// form whose pool is full is not asked again in the same round, and waiting writes nothing
/// (the `assignment_pending` entry was written when the lead arrived).
fn assign_waiting(
    conn: &mut DbConn,
    config: &ReminderConfig,
    now: NaiveDateTime,
) -> Result<Tally, ApiError> {
    let waiting = leads::table
        .filter(leads::stage.eq_any([Stage::New.as_str(), Stage::EmailConfirmed.as_str()]))
        .filter(leads::form_id.is_not_null())
        .filter(leads::assigned_user_id.is_null())
        .order(leads::id.asc())
        .limit(config.batch)
        .select(Lead::as_select())
        .load(conn)?;
    let mut forms: HashMap<i64, Option<Form>> = HashMap::new();
    Ok(each(conn, "assignment", waiting, |conn, lead| {
        let Some(form_id) = lead.form_id else {
            return Ok(false);
        };
        let form = match forms.get(&form_id) {
            Some(form) => form.clone(),
            None => {
                let form = Form::find(conn, form_id).optional()?;
                forms.insert(form_id, form.clone());
                form
            }
        };
        // A `new` lead of a double opt-in form is on its way to `pending_email`, not waiting.
        let Some(form) = form.filter(|f| lead.stage != Stage::New.as_str() || !f.double_opt_in)
        else {
            return Ok(false);
        };
        match intake::assign_if_possible(conn, &form, lead, now)? {
            Some(_) => Ok(true),
            None => {
                forms.insert(form_id, None);
                Ok(false)
            }
        }
    }))
}

/// How a notification names a lead.
fn describe(lead: &Lead) -> String {
    let name = [lead.first_name.as_deref(), lead.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if name.trim().is_empty() {
        format!("Lead #{} ({})", lead.id, lead.phone)
    } else {
        format!("Lead #{} ({}, {})", lead.id, name.trim(), lead.phone)
    }
}

/// Assigned leads of `stage` assigned before `cutoff` with no activity (a timeline entry other
/// than the sweeper's own) since; `flag` is the column that must still be unset.
macro_rules! stale_leads {
    ($flag:expr, $cutoff:expr) => {{
        let cutoff: NaiveDateTime = $cutoff;
        leads::table
            .filter(leads::stage.eq(Stage::Assigned.as_str()))
            .filter($flag.is_null())
            .filter(leads::assigned_at.le(cutoff))
            .filter(not(exists(
                lead_events::table
                    .filter(lead_events::lead_id.eq(leads::id))
                    .filter(lead_events::created_at.gt(cutoff))
                    .filter(lead_events::kind.ne(EventKind::Notified.as_str())),
            )))
    }};
}

/// Step 3: the agent of each assigned lead without activity for `stale_after` is told, once.
fn notify_stale(
    conn: &mut DbConn,
    config: &ReminderConfig,
    now: NaiveDateTime,
) -> Result<Tally, ApiError> {
    let cutoff = now - config.stale_after;
    let stale = stale_leads!(leads::stale_notified_at, cutoff)
        .filter(leads::assigned_user_id.is_not_null())
        .order(leads::id.asc())
        .limit(config.batch)
        .select(Lead::as_select())
        .load(conn)?;
    let hours = config.stale_after.num_hours();
    Ok(each(conn, "stale", stale, |conn, lead| {
        let Some(agent) = lead.assigned_user_id else {
            return Ok(false);
        };
        let won = diesel::update(
            stale_leads!(leads::stale_notified_at, cutoff)
                .filter(leads::id.eq(lead.id))
                .filter(leads::assigned_user_id.eq(agent)),
        )
        .set(leads::stale_notified_at.eq(Some(now)))
        .execute(conn)?;
        if won != 1 {
            return Ok(false);
        }
        let message = format!(
            "{} has had no activity for {hours} hours: call it or qualify it.",
            describe(lead)
        );
        notify(conn, lead, LEAD_STALE, &[agent], &message, now)?;
        Ok(true)
    }))
}

/// Step 4: the supervisors and owners of the center of each assigned lead without activity
/// for `escalate_after` are told, once.
fn escalate(
    conn: &mut DbConn,
    config: &ReminderConfig,
    now: NaiveDateTime,
) -> Result<Tally, ApiError> {
    let cutoff = now - config.escalate_after;
    let stale = stale_leads!(leads::escalated_at, cutoff)
        .order(leads::id.asc())
        .limit(config.batch)
        .select(Lead::as_select())
        .load(conn)?;
    let hours = config.escalate_after.num_hours();
    Ok(each(conn, "escalation", stale, |conn, lead| {
        let won =
            diesel::update(stale_leads!(leads::escalated_at, cutoff).filter(leads::id.eq(lead.id)))
                .set(leads::escalated_at.eq(Some(now)))
                .execute(conn)?;
        if won != 1 {
            return Ok(false);
        }
        let managers: Vec<i64> = users::table
            .filter(users::call_center_id.eq(lead.call_center_id))
            .filter(users::role.eq_any([Role::Supervisor.as_str(), Role::Owner.as_str()]))
            .filter(users::active.eq(true))
            .order(users::id.asc())
            .select(users::id)
            .load(conn)?;
        let agent = match lead.assigned_user_id {
            Some(id) => users::table
                .find(id)
                .select(users::display_name)
                .first::<String>(conn)
                .optional()?,
            None => None,
        };
        let message = match agent {
            Some(agent) => format!(
                "{}, assigned to {agent}, has had no activity for {hours} hours.",
                describe(lead)
            ),
            None => format!("{} has had no activity for {hours} hours.", describe(lead)),
        };
        notify(conn, lead, LEAD_ESCALATED, &managers, &message, now)?;
        Ok(true)
    }))
}

/// Writes one notification of `kind` per user and the timeline entry that says so.
fn notify(
    conn: &mut DbConn,
    lead: &Lead,
    kind: &str,
    user_ids: &[i64],
    message: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    for &user_id in user_ids {
        Notification::insert(
            conn,
            &NewNotification {
                call_center_id: lead.call_center_id,
                user_id,
                kind,
                lead_id: Some(lead.id),
                message,
                created_at: now,
            },
        )?;
    }
    record(
        conn,
        lead,
        EventKind::Notified,
        None,
        json!({"notification": kind, "user_ids": user_ids}),
        now,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ReminderConfig {
        crate::config::LeadsSection::default().reminder_config("https://x.test")
    }

    #[test]
    fn reminders_fall_due_in_order() {
        let c = config();
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(reminders_due(&c, t0, t0), 0);
        assert_eq!(reminders_due(&c, t0, t0 + Duration::hours(23)), 0);
        assert_eq!(reminders_due(&c, t0, t0 + Duration::hours(24)), 1);
        assert_eq!(reminders_due(&c, t0, t0 + Duration::hours(71)), 1);
        assert_eq!(reminders_due(&c, t0, t0 + Duration::hours(72)), 2);
        assert_eq!(reminders_due(&c, t0, t0 + Duration::hours(500)), 2);
    }
}
