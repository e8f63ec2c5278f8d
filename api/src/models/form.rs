//! Public lead forms: fields with their rules (JSON), and what follows a submission (double
//! opt-in email, distribution to agents, confirmation campaign).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::DbConn;
use crate::db::schema::forms;

/// A stored form.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = forms)]
pub struct Form {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique per call center.
    pub name: String,
    /// Public address `/f/<slug>`, unique across call centers.
    pub slug: String,
    /// Field definitions (`crate::intake::form::FieldSpec` array, JSON).
    pub fields: String,
    /// SMTP profile the double opt-in email goes through.
    pub smtp_profile_id: Option<i64>,
    /// Template of the double opt-in email.
    pub email_template_id: Option<i64>,
    /// Whether leads must confirm by email before they are assigned.
    pub double_opt_in: bool,
    /// Campaign confirmed leads are called from.
    pub confirmation_campaign_id: Option<i64>,
    /// Agents eligible for its leads (every agent of the center when unset).
    pub agent_group_id: Option<i64>,
    /// `round_robin` or `weighted`.
    pub distribution: String,
    /// Open leads an agent may hold before being skipped.
    pub max_open_leads: i32,
    /// Where the browser goes after a submission.
    pub redirect_url: Option<String>,
    /// Where the browser goes after following the confirmation link.
    pub confirmed_redirect_url: Option<String>,
    /// Consent text shown on the form and kept as evidence.
    pub consent_text: Option<String>,
    /// Whether it accepts submissions.
    pub active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = forms)]
pub struct NewForm<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Slug.
    pub slug: &'a str,
    /// Fields JSON.
    pub fields: &'a str,
    /// SMTP profile.
    pub smtp_profile_id: Option<i64>,
    /// Template.
    pub email_template_id: Option<i64>,
    /// Double opt-in.
    pub double_opt_in: bool,
    /// Confirmation campaign.
    pub confirmation_campaign_id: Option<i64>,
    /// Agent group.
    pub agent_group_id: Option<i64>,
    /// Distribution.
    pub distribution: &'a str,
    /// Cap of open leads per agent.
    pub max_open_leads: i32,
    /// Redirect after submit.
    pub redirect_url: Option<&'a str>,
    /// Redirect after confirmation.
    pub confirmed_redirect_url: Option<&'a str>,
    /// Consent text.
    pub consent_text: Option<&'a str>,
    /// Accepting submissions.
    pub active: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape (`Some(None)` clears a nullable column).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = forms)]
pub struct FormChanges {
    /// Name.
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// Fields JSON.
    pub fields: Option<String>,
    /// SMTP profile.
    pub smtp_profile_id: Option<Option<i64>>,
    /// Template.
    pub email_template_id: Option<Option<i64>>,
    /// Double opt-in.
    pub double_opt_in: Option<bool>,
    /// Confirmation campaign.
    pub confirmation_campaign_id: Option<Option<i64>>,
    /// Agent group.
    pub agent_group_id: Option<Option<i64>>,
    /// Distribution.
    pub distribution: Option<String>,
    /// Cap of open leads per agent.
    pub max_open_leads: Option<i32>,
    /// Redirect after submit.
    pub redirect_url: Option<Option<String>>,
    /// Redirect after confirmation.
    pub confirmed_redirect_url: Option<Option<String>>,
    /// Consent text.
    pub consent_text: Option<Option<String>>,
    /// Accepting submissions.
    pub active: Option<bool>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

impl Form {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        forms::table
            .find(id)
            .select(Self::as_select())
            .get_result(conn)
    }

    /// By public slug.
    pub fn by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Self> {
        forms::table
            .filter(forms::slug.eq(slug))
            .select(Self::as_select())
            .get_result(conn)
    }

    /// One page plus the total count, optionally of one call center.
    pub fn list(
        conn: &mut DbConn,
        call_center_id: Option<i64>,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let query = || {
            let mut q = forms::table.into_boxed();
            if let Some(cc) = call_center_id {
                q = q.filter(forms::call_center_id.eq(cc));
            }
            q
        };
        let total = query().count().get_result(conn)?;
        let items = query()
            .order(forms::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewForm<'_>) -> QueryResult<Self> {
        diesel::insert_into(forms::table)
            .values(new)
            .returning(forms::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &FormChanges) -> QueryResult<Self> {
        diesel::update(forms::table.find(id))
            .set(changes)
            .returning(forms::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(forms::table.find(id)).execute(conn)
    }
}
