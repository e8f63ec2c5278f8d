//! Leads: the people a campaign calls (and, for lead confirmation, the people who filled in a
//! form). One table for both, so a lead keeps one history.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::leads;
use crate::db::{Backend, DbConn};

/// Largest number of values bound in one `IN (...)` list (SQLite's parameter limit is far above;
/// this keeps statements small on both backends).
pub const IN_CHUNK: usize = 500;

/// A stored lead.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = leads)]
pub struct Lead {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Campaign calling the lead.
    pub campaign_id: Option<i64>,
    /// E.164 number.
    pub phone: String,
    /// ISO 3166 country of the number.
    pub region: Option<String>,
    /// IANA time zone, when known.
    pub time_zone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Identifier in the customer's systems.
    pub external_id: Option<String>,
    /// Other columns, as a JSON object.
    pub fields: String,
    /// Higher is called first.
    pub priority: i32,
    /// `callpro_dialer::retry::LeadStatus` name.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Not to be called before.
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Outcome of the last attempt.
    pub last_outcome: Option<String>,
    /// Instance holding the lead for a dial.
    pub claimed_by: Option<String>,
    /// Claim expiry.
    pub claimed_until: Option<NaiveDateTime>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
    /// Form the lead came from.
    pub form_id: Option<i64>,
    /// Confirmation lifecycle stage (`crate::leadflow::Stage` name).
    pub stage: String,
    /// Agent the lead is assigned to for confirmation.
    pub assigned_user_id: Option<i64>,
    /// When it was assigned.
    pub assigned_at: Option<NaiveDateTime>,
    /// When the stage last changed.
    pub stage_changed_at: Option<NaiveDateTime>,
    /// When the double opt-in link was followed.
    pub email_confirmed_at: Option<NaiveDateTime>,
    /// Address the form was posted from (consent evidence).
    pub submitted_ip: Option<String>,
    /// Address the confirmation link was opened from (consent evidence).
    pub confirmed_ip: Option<String>,
    /// Reminder emails sent while waiting for the double opt-in click.
    pub reminders_sent: i32,
    /// When the assigned agent was told the lead went stale (once per assignment).
    pub stale_notified_at: Option<NaiveDateTime>,
    /// When the center's supervisors and owners were told (once per assignment).
    pub escalated_at: Option<NaiveDateTime>,
}

/// Insert shape (owned: imports build it in batches).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = leads)]
pub struct NewLead {
    /// Owning call center.
    pub call_center_id: i64,
    /// Campaign.
    pub campaign_id: Option<i64>,
    /// E.164 number.
    pub phone: String,
    /// Country.
    pub region: Option<String>,
    /// Time zone.
    pub time_zone: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// External id.
    pub external_id: Option<String>,
    /// Extra columns JSON.
    pub fields: String,
    /// Priority.
    pub priority: i32,
    /// Status (`new`).
    pub status: String,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// List filters.
#[derive(Debug, Default)]
pub struct LeadFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this campaign.
    pub campaign_id: Option<i64>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this number (E.164).
    pub phone: Option<String>,
}

impl LeadFilter {
    fn query(&self) -> leads::BoxedQuery<'static, Backend> {
        let mut query = leads::table.into_boxed();
        if let Some(v) = self.call_center_id {
            query = query.filter(leads::call_center_id.eq(v));
        }
        if let Some(v) = self.campaign_id {
            query = query.filter(leads::campaign_id.eq(v));
        }
        if let Some(v) = self.status.clone() {
            query = query.filter(leads::status.eq(v));
        }
        if let Some(v) = self.phone.clone() {
            query = query.filter(leads::phone.eq(v));
        }
        query
    }
}

impl Lead {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        leads::table
            .find(id)
            .select(Self::as_select())
            .get_result(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &LeadFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(leads::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Which of `phones` the campaign already has.
    pub fn existing_phones(
        conn: &mut DbConn,
        campaign_id: i64,
        phones: &[String],
    ) -> QueryResult<HashSet<String>> {
        let mut found = HashSet::new();
        for chunk in phones.chunks(IN_CHUNK) {
            let rows: Vec<String> = leads::table
                .filter(leads::campaign_id.eq(campaign_id))
                .filter(leads::phone.eq_any(chunk))
                .select(leads::phone)
                .load(conn)?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// Inserts a batch of one campaign's leads, skipping the numbers the campaign already has;
    /// returns the rows written.
    pub fn insert_batch(conn: &mut DbConn, rows: &[NewLead]) -> QueryResult<usize> {
        let mut written = 0;
        // 14 columns per row: well under both backends' bound-parameter limits.
        for chunk in rows.chunks(IN_CHUNK) {
            written += match conn {
                // PostgreSQL: one statement; the unique (campaign, number) index decides.
                DbConn::Pg(c) => diesel::insert_into(leads::table)
                    .values(chunk)
                    .on_conflict((leads::campaign_id, leads::phone))
                    .do_nothing()
                    .execute(c)?,
                // SQLite cannot combine a multi-row INSERT with ON CONFLICT in diesel: look the
                // numbers up first (the same transaction holds the write lock), then insert.
                DbConn::Sqlite(_) => {
                    let mut fresh: Vec<&NewLead> = Vec::with_capacity(chunk.len());
                    let mut by_campaign: std::collections::HashMap<i64, Vec<String>> =
                        std::collections::HashMap::new();
                    for row in chunk {
                        if let Some(c) = row.campaign_id {
                            by_campaign.entry(c).or_default().push(row.phone.clone());
                        }
                    }
                    let mut existing = HashSet::new();
                    for (campaign, phones) in &by_campaign {
                        existing.extend(
                            Self::existing_phones(conn, *campaign, phones)?
                                .into_iter()
                                .map(|p| (*campaign, p)),
                        );
                    }
                    for row in chunk {
                        let taken = row
                            .campaign_id
                            .is_some_and(|c| existing.contains(&(c, row.phone.clone())));
                        if !taken {
                            fresh.push(row);
                        }
                    }
                    if fresh.is_empty() {
                        0
                    } else {
                        crate::per_backend!(conn, |c| diesel::insert_into(leads::table)
                            .values(fresh.iter().map(|r| (*r).clone()).collect::<Vec<_>>())
                            .execute(c))?
                    }
                }
            };
        }
        Ok(written)
    }

    /// Number of leads per status in a campaign.
    pub fn count_by_status(conn: &mut DbConn, campaign_id: i64) -> QueryResult<Vec<(String, i64)>> {
        leads::table
            .filter(leads::campaign_id.eq(campaign_id))
            .group_by(leads::status)
            .select((leads::status, diesel::dsl::count_star()))
            .load(conn)
    }
}
