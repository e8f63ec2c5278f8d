//! What happens to a lead from the form post to the agent: [`submit`] stores it (with the
//! double opt-in email in the same transaction), [`confirm`] follows the email's link, and
//! [`assign`] hands it to an agent.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::distribute::{self, Pool, Strategy};
use super::{EventKind, Stage, Transition, calling, record, stage_of, token, transition};
use crate::db::DbConn;
use crate::db::schema::leads;
use crate::email::template;
use crate::error::{ApiError, QueryResultExt as _};
use crate::handlers::email_templates::Preview;
use crate::intake::form::Submission;
use crate::models::email_outbox::{Enqueue, Outbox};
use crate::models::email_template::EmailTemplate;
use crate::models::form::Form;
use crate::models::lead::Lead;

/// Settings of the intake.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Public base URL the confirmation link starts with (`https://leads.example.com`).
    pub public_url: String,
    /// How long a confirmation link works.
    pub token_ttl: Duration,
}

/// What a submission's write needs that can be made before its transaction: the double
/// opt-in email, rendered with its token. Preparing reads (the template) and computes (the
/// token, the rendering) outside the write transaction, so that the transaction, which
/// writers take in turn, only writes.
#[derive(Debug)]
pub struct Prepared {
    email: Option<ConfirmationEmail>,
}

/// A double opt-in email ready to be queued.
#[derive(Debug)]
struct ConfirmationEmail {
    /// The link's token (only its hash is stored).
    token: String,
    profile_id: i64,
    template_id: i64,
    to: String,
    rendered: Preview,
}

/// Prepares the write of `submission` to `form` (see [`Prepared`]).
pub fn prepare(
    conn: &mut DbConn,
    form: &Form,
    submission: &Submission,
    settings: &Settings,
) -> Result<Prepared, ApiError> {
    if !form.double_opt_in {
        return Ok(Prepared { email: None });
    }
    let (Some(profile_id), Some(template_id), Some(to)) = (
        form.smtp_profile_id,
        form.email_template_id,
        submission.email.as_deref(),
    ) else {
        // The form's own validation rules this out (double opt-in needs all three).
        return Err(ApiError::internal(format!(
            "form {} has double opt-in without an SMTP profile, a template or an email field",
            form.id
        )));
    };
    let token = token::new();
    let confirm_url = format!(
        "{}/confirm/{token}",
        settings.public_url.trim_end_matches('/')
    );
    let values = email_values(submission, &confirm_url);
    let t = EmailTemplate::find(conn, template_id).or_not_found("email_template")?;
    let rendered = crate::handlers::email_templates::render(&t, &values)?;
    Ok(Prepared {
        email: Some(ConfirmationEmail {
            token,
            profile_id,
            template_id,
            to: to.to_owned(),
            rendered,
        }),
    })
}

/// Stores a validated submission to `form` and, in the same transaction, queues its double
/// opt-in email (or assigns the lead when the form has no opt-in). The caller runs it inside
/// a write transaction and answers only once that transaction committed.
pub fn submit(
    conn: &mut DbConn,
    form: &Form,
    submission: Submission,
    prepared: Prepared,
    ip: Option<&str>,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Lead, ApiError> {
    let Some(phone) = submission.phone.clone() else {
        return Err(ApiError::field("phone", "required", "must not be empty"));
    };
    let time_zone = submission
        .region
        .as_deref()
        .map(callpro_dialer::phone::zones_for_region)
        .and_then(|zones| match zones {
            [only] => Some(only.name().to_owned()),
            _ => None,
        });
    let values = serde_json::Value::Object(submission.values);
    let lead: Lead = diesel::insert_into(leads::table)
        .values((
            leads::call_center_id.eq(form.call_center_id),
            leads::phone.eq(&phone),
            leads::region.eq(submission.region.as_deref()),
            leads::time_zone.eq(time_zone),
            leads::first_name.eq(submission.first_name.as_deref()),
            leads::last_name.eq(submission.last_name.as_deref()),
            leads::email.eq(submission.email.as_deref()),
            leads::fields.eq(values.to_string()),
            leads::priority.eq(0),
            leads::status.eq("new"),
            leads::form_id.eq(Some(form.id)),
            leads::stage.eq(Stage::New.as_str()),
            leads::stage_changed_at.eq(Some(now)),
            leads::submitted_ip.eq(ip),
            leads::created_at.eq(now),
            leads::updated_at.eq(now),
        ))
        .returning(leads::all_columns)
        .get_result::<Lead>(conn)?;
    record(
        conn,
        &lead,
        EventKind::Submitted,
        None,
        json!({"form_id": form.id, "form": form.name, "ip": ip, "consent_text": form.consent_text}),
        now,
    )?;
    match prepared.email {
        Some(email) => {
            let email_id = queue_confirmation(conn, form, &lead, email, settings, now)?;
            let lead = transition(
                conn,
                &lead,
                Transition {
                    to: Stage::PendingEmail,
                    actor: None,
                    detail: json!({"email_id": email_id}),
                    at: now,
                },
            )?;
            Ok(lead)
        }
        None => {
            let lead = assign(conn, form, &lead, now)?;
            calling::enroll(conn, form, &lead, now)
        }
    }
}

/// Stores the email's token and queues the email; the email's id.
fn queue_confirmation(
    conn: &mut DbConn,
    form: &Form,
    lead: &Lead,
    email: ConfirmationEmail,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<i64, ApiError> {
    token::store(conn, lead.id, &email.token, now, now + settings.token_ttl)?;
    let queued = Outbox::enqueue(
        conn,
        &Enqueue {
            call_center_id: form.call_center_id,
            smtp_profile_id: email.profile_id,
            template_id: Some(email.template_id),
            lead_id: Some(lead.id),
            to: &email.to,
            subject: &email.rendered.subject,
            html: &email.rendered.html_body,
            text: &email.rendered.text_body,
        },
    )
    .or_not_found("smtp_profile")?;
    record(
        conn,
        lead,
        EventKind::EmailQueued,
        None,
        json!({"email_id": queued.id, "purpose": "double_opt_in", "to": email.to}),
        now,
    )?;
    Ok(queued.id)
}

/// The template variables of a submission.
pub fn email_values(submission: &Submission, confirm_url: &str) -> template::Values {
    let mut values = template::Values::new();
    let known = [
        ("first_name", &submission.first_name),
        ("last_name", &submission.last_name),
        ("company", &submission.company),
        ("email", &submission.email),
        ("phone", &submission.phone),
    ];
    for (name, value) in known {
        if let Some(value) = value {
            values.insert(name.to_owned(), value.clone());
        }
    }
    values.insert("confirm_url".to_owned(), confirm_url.to_owned());
    for (name, value) in &submission.values {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(true) => "yes".to_owned(),
            serde_json::Value::Bool(false) => "no".to_owned(),
            other => other.to_string(),
        };
        values.insert(format!("field.{name}"), text);
    }
    values
}

/// Hands `lead` to the next agent of `form`'s pool, or leaves it where it is with an
/// `assignment_pending` entry when nobody can take it (a later sweep or a supervisor does).
pub fn assign(
    conn: &mut DbConn,
    form: &Form,
    lead: &Lead,
    now: NaiveDateTime,
) -> Result<Lead, ApiError> {
    match assign_if_possible(conn, form, lead, now)? {
        Some(lead) => Ok(lead),
        None => {
            record(
                conn,
                lead,
                EventKind::AssignmentPending,
                None,
                json!({"reason": "no eligible agent under the open-lead cap"}),
                now,
            )?;
            Ok(lead.clone())
        }
    }
}

/// Hands `lead` to the next agent of `form`'s pool; `None` (and nothing written) when nobody
/// can take it now.
pub fn assign_if_possible(
    conn: &mut DbConn,
    form: &Form,
    lead: &Lead,
    now: NaiveDateTime,
) -> Result<Option<Lead>, ApiError> {
    let pool = Pool {
        call_center_id: form.call_center_id,
        group_id: form.agent_group_id,
        max_open: i64::from(form.max_open_leads),
    };
    let strategy = Strategy::parse(&form.distribution).unwrap_or(Strategy::RoundRobin);
    let Some(agent) = distribute::choose(conn, pool, strategy, now)? else {
        return Ok(None);
    };
    let detail = json!({"strategy": form.distribution});
    assign_to(conn, lead, agent, None, detail, now).map(Some)
}

/// Gives `lead` to `agent` (moving it to `assigned` when it is not there yet). A new
/// assignment starts a new clock: the stale and escalation notifications may happen again.
pub fn assign_to(
    conn: &mut DbConn,
    lead: &Lead,
    agent: i64,
    actor: Option<i64>,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> Result<Lead, ApiError> {
    let lead = if stage_of(lead) == Stage::Assigned {
        lead.clone()
    } else {
        transition(
            conn,
            lead,
            Transition {
                to: Stage::Assigned,
                actor,
                detail: json!({}),
                at: now,
            },
        )?
    };
    diesel::update(leads::table.find(lead.id))
        .set((
            leads::assigned_user_id.eq(Some(agent)),
            leads::assigned_at.eq(Some(now)),
            leads::stale_notified_at.eq(None::<NaiveDateTime>),
            leads::escalated_at.eq(None::<NaiveDateTime>),
            leads::updated_at.eq(now),
        ))
        .execute(conn)?;
    let mut detail = detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("agent_id".into(), json!(agent));
        map.insert("previous_agent_id".into(), json!(lead.assigned_user_id));
    }
    record(conn, &lead, EventKind::Assigned, actor, detail, now)?;
    Ok(Lead::find(conn, lead.id)?)
}

/// What following a confirmation link did.
#[derive(Debug, Clone)]
pub enum Confirmation {
    /// Confirmed now.
    Confirmed {
        /// The lead.
        lead_id: i64,
        /// Its form.
        form: Box<Form>,
    },
    /// Confirmed before (the link was followed again): nothing changed.
    AlreadyConfirmed {
        /// Its form.
        form: Box<Form>,
    },
    /// The link is too old.
    Expired,
    /// No such link.
    Unknown,
}

/// The answer to a link followed again: the page of the lead's form.
fn already_confirmed(conn: &mut DbConn, lead_id: i64) -> Result<Confirmation, ApiError> {
    let lead = Lead::find(conn, lead_id)?;
    let form = lead.form_id.map(|id| Form::find(conn, id)).transpose()?;
    Ok(form.map_or(Confirmation::Unknown, |form| {
        Confirmation::AlreadyConfirmed {
            form: Box::new(form),
        }
    }))
}

/// Follows a confirmation link from `ip`: spends the token, records the consent evidence,
/// moves the lead to `email_confirmed` and assigns it. Idempotent: a second visit finds the
/// token used and changes nothing.
pub fn confirm(
    conn: &mut DbConn,
    raw_token: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Confirmation, ApiError> {
    let found = match token::find(conn, raw_token, now)? {
        token::Lookup::Unknown => return Ok(Confirmation::Unknown),
        token::Lookup::Expired(_) => return Ok(Confirmation::Expired),
        token::Lookup::Used(t) => return already_confirmed(conn, t.lead_id),
        token::Lookup::Valid(t) => t,
    };
    if !token::spend(conn, found.id, now)? {
        // Another visit spent it an instant ago.
        return already_confirmed(conn, found.lead_id);
    }
    let lead = Lead::find(conn, found.lead_id)?;
    let Some(form) = lead.form_id.map(|id| Form::find(conn, id)).transpose()? else {
        return Ok(Confirmation::Unknown);
    };
    if stage_of(&lead) != Stage::PendingEmail {
        // Marked invalid or unreachable meanwhile: the click is evidence, nothing more.
        return Ok(Confirmation::AlreadyConfirmed {
            form: Box::new(form),
        });
    }
    diesel::update(leads::table.find(lead.id))
        .set((
            leads::email_confirmed_at.eq(Some(now)),
            leads::confirmed_ip.eq(ip),
        ))
        .execute(conn)?;
    let lead = transition(
        conn,
        &lead,
        Transition {
            to: Stage::EmailConfirmed,
            actor: None,
            detail: json!({"ip": ip}),
            at: now,
        },
    )?;
    let lead = assign(conn, &form, &lead, now)?;
    let lead = calling::enroll(conn, &form, &lead, now)?;
    Ok(Confirmation::Confirmed {
        lead_id: lead.id,
        form: Box::new(form),
    })
}
