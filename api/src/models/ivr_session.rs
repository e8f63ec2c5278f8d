//! IVR sessions: one row per inbound call that reached the IVR, inserted as `in_progress` when
//! the call arrives and completed with its outcome and steps when it ends.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::ivr_sessions;
use crate::db::{Backend, DbConn};

/// The outcome of a session that has not ended.
pub const IN_PROGRESS: &str = "in_progress";

/// A stored session.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = ivr_sessions)]
pub struct IvrSession {
    /// Primary key.
    pub id: i64,
    /// The DID's call center (`None`: an unknown DID).
    pub call_center_id: Option<i64>,
    /// The number dialed.
    pub did: String,
    /// Caller number.
    pub caller_id: String,
    /// Caller name.
    pub caller_name: String,
    /// Asterisk Uniqueid of the channel.
    pub uniqueid: String,
    /// Channel name.
    pub channel: String,
    /// The flow walked.
    pub flow_id: Option<i64>,
    /// Its published version.
    pub flow_version: Option<i32>,
    /// When the call reached the IVR (UTC).
    pub started_at: NaiveDateTime,
    /// When it left it (UTC).
    pub ended_at: Option<NaiveDateTime>,
    /// `in_progress`, then a `callpro_ivr::OutcomeKind` code.
    pub outcome: String,
    /// Where the call went (queue, number, mailbox), or why it failed.
    pub outcome_detail: Option<String>,
    /// The node the walk ended in.
    pub last_node: Option<String>,
    /// The nodes walked, a JSON array of `callpro_ivr::Step`.
    pub steps: String,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = ivr_sessions)]
pub struct NewIvrSession {
    /// Call center.
    pub call_center_id: Option<i64>,
    /// DID.
    pub did: String,
    /// Caller number.
    pub caller_id: String,
    /// Caller name.
    pub caller_name: String,
    /// Uniqueid.
    pub uniqueid: String,
    /// Channel.
    pub channel: String,
    /// Flow.
    pub flow_id: Option<i64>,
    /// Flow version.
    pub flow_version: Option<i32>,
    /// Start.
    pub started_at: NaiveDateTime,
    /// End, for a session stored whole.
    pub ended_at: Option<NaiveDateTime>,
    /// Outcome code.
    pub outcome: String,
    /// Outcome detail.
    pub outcome_detail: Option<String>,
    /// Last node.
    pub last_node: Option<String>,
    /// Steps (JSON array).
    pub steps: String,
}

/// Update shape: how a session ended.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = ivr_sessions)]
pub struct IvrSessionChanges {
    /// End time.
    pub ended_at: Option<Option<NaiveDateTime>>,
    /// Outcome code.
    pub outcome: Option<String>,
    /// Outcome detail.
    pub outcome_detail: Option<Option<String>>,
    /// Last node.
    pub last_node: Option<Option<String>>,
    /// Steps (JSON array).
    pub steps: Option<String>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct IvrSessionFilter {
    /// Only this call center (`None`: every session, unknown DIDs included).
    pub call_center_id: Option<i64>,
    /// Only calls to this DID.
    pub did: Option<String>,
    /// Only sessions of this flow.
    pub flow_id: Option<i64>,
    /// Only this outcome code.
    pub outcome: Option<String>,
    /// Only calls from this number.
    pub caller_id: Option<String>,
    /// Started at or after.
    pub started_from: Option<NaiveDateTime>,
    /// Started before.
    pub started_to: Option<NaiveDateTime>,
}

impl IvrSessionFilter {
    fn query(&self) -> ivr_sessions::BoxedQuery<'static, Backend> {
        let mut query = ivr_sessions::table.into_boxed();
        if let Some(id) = self.call_center_id {
            query = query.filter(ivr_sessions::call_center_id.eq(id));
        }
        if let Some(did) = self.did.clone() {
            query = query.filter(ivr_sessions::did.eq(did));
        }
        if let Some(id) = self.flow_id {
            query = query.filter(ivr_sessions::flow_id.eq(id));
        }
        if let Some(outcome) = self.outcome.clone() {
            query = query.filter(ivr_sessions::outcome.eq(outcome));
        }
        if let Some(caller_id) = self.caller_id.clone() {
            query = query.filter(ivr_sessions::caller_id.eq(caller_id));
        }
        if let Some(t) = self.started_from {
            query = query.filter(ivr_sessions::started_at.ge(t));
        }
        if let Some(t) = self.started_to {
            query = query.filter(ivr_sessions::started_at.lt(t));
        }
        query
    }
}

impl IvrSession {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        ivr_sessions::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page, newest first, plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &IvrSessionFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order((ivr_sessions::started_at.desc(), ivr_sessions::id.desc()))
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts; returns the new id.
    pub fn create(conn: &mut DbConn, new: &NewIvrSession) -> QueryResult<i64> {
        diesel::insert_into(ivr_sessions::table)
            .values(new)
            .returning(ivr_sessions::id)
            .get_result(conn)
    }

    /// Records how a session ended; returns how many rows changed (0 if it is gone).
    pub fn finish(conn: &mut DbConn, id: i64, changes: &IvrSessionChanges) -> QueryResult<usize> {
        diesel::update(ivr_sessions::table.find(id))
            .set(changes)
            .execute(conn)
    }
}
