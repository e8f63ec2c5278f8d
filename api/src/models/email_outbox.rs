//! The durable email outbox. Rows go `queued` → `sending` → `sent` | `failed`; a worker claims
//! due rows with a lease (`claimed_by` / `claimed_until`) through a conditional `UPDATE`, so
//! two instances never send the same row at once, and a row whose sender died mid-send is taken
//! again once its lease runs out (at-least-once, with the Message-ID fixed at enqueue time so
//! receivers can drop the duplicate).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::{email_outbox, smtp_profiles};
use crate::db::{Backend, DbConn};
use crate::email::smtp::new_message_id;

/// A stored email.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxEmail {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Profile it is sent through.
    pub smtp_profile_id: i64,
    /// Template it was rendered from.
    pub template_id: Option<i64>,
    /// Lead it was sent to.
    pub lead_id: Option<i64>,
    /// Recipient.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html_body: String,
    /// Text body.
    pub text_body: String,
    /// `queued`, `sending`, `sent` or `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Message-ID header, fixed at enqueue time.
    pub message_id: String,
    /// Instance sending it.
    pub claimed_by: Option<String>,
    /// Lease expiry.
    pub claimed_until: Option<NaiveDateTime>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
    /// Delivery time.
    pub sent_at: Option<NaiveDateTime>,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = email_outbox)]
pub struct NewOutboxEmail<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Profile.
    pub smtp_profile_id: i64,
    /// Template.
    pub template_id: Option<i64>,
    /// Lead.
    pub lead_id: Option<i64>,
    /// Recipient.
    pub to_address: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// HTML body.
    pub html_body: &'a str,
    /// Text body.
    pub text_body: &'a str,
    /// `queued`.
    pub status: &'a str,
    /// Due now.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Message-ID.
    pub message_id: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = email_outbox)]
pub struct OutboxEmailChanges {
    /// New status.
    pub status: Option<String>,
    /// Next attempt (`Some(None)` clears).
    pub next_attempt_at: Option<Option<NaiveDateTime>>,
    /// Last failure (`Some(None)` clears).
    pub last_error: Option<Option<String>>,
    /// Holder (`Some(None)` releases).
    pub claimed_by: Option<Option<String>>,
    /// Lease expiry (`Some(None)` releases).
    pub claimed_until: Option<Option<NaiveDateTime>>,
    /// Delivery time.
    pub sent_at: Option<Option<NaiveDateTime>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// What to enqueue.
#[derive(Debug, Clone)]
pub struct Enqueue<'a> {
    /// Owning call center (the profile must belong to it).
    pub call_center_id: i64,
    /// Profile to send through.
    pub smtp_profile_id: i64,
    /// Template it was rendered from.
    pub template_id: Option<i64>,
    /// Lead it goes to.
    pub lead_id: Option<i64>,
    /// Recipient.
    pub to: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// HTML body.
    pub html: &'a str,
    /// Text body.
    pub text: &'a str,
}

/// History filters.
#[derive(Debug, Default, Clone)]
pub struct OutboxFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this lead.
    pub lead_id: Option<i64>,
    /// Created at or after.
    pub from: Option<NaiveDateTime>,
    /// Created before.
    pub to: Option<NaiveDateTime>,
}

impl OutboxFilter {
    fn query(&self) -> email_outbox::BoxedQuery<'static, Backend> {
        let mut q = email_outbox::table.into_boxed();
        if let Some(v) = self.call_center_id {
            q = q.filter(email_outbox::call_center_id.eq(v));
        }
        if let Some(v) = &self.status {
            q = q.filter(email_outbox::status.eq(v.clone()));
        }
        if let Some(v) = self.lead_id {
            q = q.filter(email_outbox::lead_id.eq(v));
        }
        if let Some(v) = self.from {
            q = q.filter(email_outbox::created_at.ge(v));
        }
        if let Some(v) = self.to {
            q = q.filter(email_outbox::created_at.lt(v));
        }
        q
    }
}

/// The outbox's operations.
#[derive(Debug)]
pub struct Outbox;

impl Outbox {
    /// Queues an email, due now, with a fresh Message-ID; composes with other writes in the
    /// caller's transaction. `NotFound` when the profile is not the call center's.
    pub fn enqueue(conn: &mut DbConn, email: &Enqueue<'_>) -> QueryResult<OutboxEmail> {
        let from: String = smtp_profiles::table
            .find(email.smtp_profile_id)
            .filter(smtp_profiles::call_center_id.eq(email.call_center_id))
            .select(smtp_profiles::from_address)
            .get_result(conn)?;
        let now = crate::db::now();
        let message_id = new_message_id(&from);
        diesel::insert_into(email_outbox::table)
            .values(&NewOutboxEmail {
                call_center_id: email.call_center_id,
                smtp_profile_id: email.smtp_profile_id,
                template_id: email.template_id,
                lead_id: email.lead_id,
                to_address: email.to,
                subject: email.subject,
                html_body: email.html,
                text_body: email.text,
                status: "queued",
                next_attempt_at: Some(now),
                message_id: &message_id,
                created_at: now,
                updated_at: now,
            })
            .returning(email_outbox::all_columns)
            .get_result(conn)
    }

    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<OutboxEmail> {
        email_outbox::table
            .find(id)
            .select(OutboxEmail::as_select())
            .first(conn)
    }

    /// One page of history, newest first, plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &OutboxFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<OutboxEmail>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(email_outbox::id.desc())
            .limit(page.limit)
            .offset(page.offset)
            .select(OutboxEmail::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Claims up to `limit` due emails for `runner` until `until`: queued ones whose time has
    /// come, and `sending` ones whose holder's lease ran out. Each claim is a conditional
    /// `UPDATE`; a row another instance took first is skipped.
    pub fn claim(
        conn: &mut DbConn,
        runner: &str,
        now: NaiveDateTime,
        until: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<OutboxEmail>> {
        let due = || {
            email_outbox::status
                .eq("queued")
                .and(email_outbox::next_attempt_at.le(now))
                .or(email_outbox::status
                    .eq("sending")
                    .and(email_outbox::claimed_until.lt(now)))
        };
        let ids: Vec<i64> = email_outbox::table
            .filter(due())
            .order(email_outbox::id.asc())
            .limit(limit)
            .select(email_outbox::id)
            .load(conn)?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let won = diesel::update(email_outbox::table.find(id).filter(due()))
                .set((
                    email_outbox::status.eq("sending"),
                    email_outbox::attempts.eq(email_outbox::attempts + 1),
                    email_outbox::claimed_by.eq(Some(runner)),
                    email_outbox::claimed_until.eq(Some(until)),
                    email_outbox::updated_at.eq(now),
                ))
                .execute(conn)?;
            if won == 1 {
                claimed.push(Self::find(conn, id)?);
            }
        }
        Ok(claimed)
    }

    /// Extends `runner`'s lease on `id` to `until` just before a send, so that each send starts
    /// with a whole lease ahead of it however long the batch before it took; whether the
    /// lease was still held (when not, another instance owns the email and it is skipped).
    pub fn renew(
        conn: &mut DbConn,
        id: i64,
        runner: &str,
        until: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            email_outbox::table
                .find(id)
                .filter(email_outbox::claimed_by.eq(runner))
                .filter(email_outbox::status.eq("sending")),
        )
        .set(email_outbox::claimed_until.eq(Some(until)))
        .execute(conn)?;
        Ok(n == 1)
    }

    /// Applies `changes` to `id` if `runner` still holds it; whether it did.
    pub fn settle(
        conn: &mut DbConn,
        id: i64,
        runner: &str,
        changes: &OutboxEmailChanges,
    ) -> QueryResult<bool> {
        let n = diesel::update(
            email_outbox::table
                .find(id)
                .filter(email_outbox::claimed_by.eq(runner))
                .filter(email_outbox::status.eq("sending")),
        )
        .set(changes)
        .execute(conn)?;
        Ok(n == 1)
    }
}
