//! Outbound campaigns and the agent groups staffing them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::{agent_group_members, campaign_agent_groups, campaigns};
use crate::db::{Backend, DbConn};

/// A stored campaign. `settings` is `callpro_dialer::campaign::CampaignSettings` as JSON.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Unique within the call center.
    pub name: String,
    /// Higher runs first when campaigns share agents.
    pub priority: i32,
    /// `preview`, `progressive`, `power` or `predictive`.
    pub mode: String,
    /// `draft`, `running`, `paused` or `stopped`.
    pub status: String,
    /// Presented number.
    pub caller_id: Option<String>,
    /// Qualifications offered to agents.
    pub qualification_group_id: Option<i64>,
    /// Script reference shown to agents.
    pub script: Option<String>,
    /// Schedule, strategy and compliance, as JSON.
    pub settings: String,
    /// Temporary extra abandonment target, in percentage points.
    pub boost_pct: f64,
    /// When the boost ends.
    pub boost_until: Option<NaiveDateTime>,
    /// Instance holding the pacing loop.
    pub runner: Option<String>,
    /// Until when it holds it.
    pub lease_until: Option<NaiveDateTime>,
    /// First start.
    pub started_at: Option<NaiveDateTime>,
    /// Stop time.
    pub stopped_at: Option<NaiveDateTime>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = campaigns)]
pub struct NewCampaign<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Priority.
    pub priority: i32,
    /// Dial mode.
    pub mode: &'a str,
    /// Status (`draft`).
    pub status: &'a str,
    /// Caller ID.
    pub caller_id: Option<&'a str>,
    /// Qualification group.
    pub qualification_group_id: Option<i64>,
    /// Script reference.
    pub script: Option<&'a str>,
    /// Settings JSON.
    pub settings: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape (`Some(None)` clears a nullable column).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = campaigns)]
pub struct CampaignChanges {
    /// Name.
    pub name: Option<String>,
    /// Priority.
    pub priority: Option<i32>,
    /// Mode.
    pub mode: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Caller ID.
    pub caller_id: Option<Option<String>>,
    /// Qualification group.
    pub qualification_group_id: Option<Option<i64>>,
    /// Script.
    pub script: Option<Option<String>>,
    /// Settings JSON.
    pub settings: Option<String>,
    /// Boost.
    pub boost_pct: Option<f64>,
    /// Boost end.
    pub boost_until: Option<Option<NaiveDateTime>>,
    /// Runner.
    pub runner: Option<Option<String>>,
    /// Lease.
    pub lease_until: Option<Option<NaiveDateTime>>,
    /// First start.
    pub started_at: Option<Option<NaiveDateTime>>,
    /// Stop time.
    pub stopped_at: Option<Option<NaiveDateTime>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct CampaignFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this status.
    pub status: Option<String>,
}

impl CampaignFilter {
    fn query(&self) -> campaigns::BoxedQuery<'static, Backend> {
        let mut query = campaigns::table.into_boxed();
        if let Some(v) = self.call_center_id {
            query = query.filter(campaigns::call_center_id.eq(v));
        }
        if let Some(v) = self.status.clone() {
            query = query.filter(campaigns::status.eq(v));
        }
        query
    }
}

impl Campaign {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        campaigns::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &CampaignFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(campaigns::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Every campaign in `status` (all tenants): the runtime's work list.
    pub fn with_status(conn: &mut DbConn, status: &str) -> QueryResult<Vec<Self>> {
        campaigns::table
            .filter(campaigns::status.eq(status))
            .order(campaigns::id.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewCampaign<'_>) -> QueryResult<Self> {
        diesel::insert_into(campaigns::table)
            .values(new)
            .returning(campaigns::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &CampaignChanges) -> QueryResult<Self> {
        diesel::update(campaigns::table.find(id))
            .set(changes)
            .returning(campaigns::all_columns)
            .get_result(conn)
    }

    /// Deletes (its leads go with it).
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(campaigns::table.find(id)).execute(conn)
    }

    /// The agent groups staffing the campaign.
    pub fn agent_groups(conn: &mut DbConn, id: i64) -> QueryResult<Vec<i64>> {
        campaign_agent_groups::table
            .filter(campaign_agent_groups::campaign_id.eq(id))
            .select(campaign_agent_groups::group_id)
            .order(campaign_agent_groups::group_id.asc())
            .load(conn)
    }

    /// The users (agents) of the groups staffing the campaign.
    pub fn agent_ids(conn: &mut DbConn, id: i64) -> QueryResult<Vec<i64>> {
        agent_group_members::table
            .inner_join(
                campaign_agent_groups::table
                    .on(campaign_agent_groups::group_id.eq(agent_group_members::group_id)),
            )
            .filter(campaign_agent_groups::campaign_id.eq(id))
            .select(agent_group_members::user_id)
            .distinct()
            .load(conn)
    }

    /// Takes (or renews) the right to dial a running campaign for `runner` until `until`: free,
    /// already `runner`'s, or left by an instance whose lease ran out. False when the campaign
    /// is no longer running or another instance holds it.
    pub fn take_lease(
        conn: &mut DbConn,
        id: i64,
        runner: &str,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<bool> {
        let taken = diesel::update(
            campaigns::table
                .find(id)
                .filter(campaigns::status.eq("running"))
                .filter(
                    campaigns::runner
                        .is_null()
                        .or(campaigns::runner.eq(runner))
                        .or(campaigns::lease_until.lt(now)),
                ),
        )
        .set((
            campaigns::runner.eq(Some(runner)),
            campaigns::lease_until.eq(Some(until)),
        ))
        .execute(conn)?;
        Ok(taken == 1)
    }

    /// Gives the campaign up, if `runner` holds it.
    pub fn release_lease(conn: &mut DbConn, id: i64, runner: &str) -> QueryResult<()> {
        diesel::update(
            campaigns::table
                .find(id)
                .filter(campaigns::runner.eq(runner)),
        )
        .set((
            campaigns::runner.eq(None::<String>),
            campaigns::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        Ok(())
    }

    /// Replaces the agent groups staffing the campaign.
    pub fn set_agent_groups(conn: &mut DbConn, id: i64, groups: &[i64]) -> QueryResult<()> {
        diesel::delete(
            campaign_agent_groups::table.filter(campaign_agent_groups::campaign_id.eq(id)),
        )
        .execute(conn)?;
        let rows: Vec<_> = groups
            .iter()
            .map(|g| {
                (
                    campaign_agent_groups::campaign_id.eq(id),
                    campaign_agent_groups::group_id.eq(*g),
                )
            })
            .collect();
        if !rows.is_empty() {
            crate::per_backend!(conn, |c| diesel::insert_into(campaign_agent_groups::table)
                .values(&rows)
                .execute(c))?;
        }
        Ok(())
    }
}
