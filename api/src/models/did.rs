//! DIDs: the numbers callers dial, each routed to an IVR flow of its call center.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{PageRequest, contains_pattern};
use crate::db::schema::dids;
use crate::db::{Backend, DbConn};

/// A stored DID.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = dids)]
pub struct Did {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Digits with an optional leading `+`, unique across call centers.
    pub number: String,
    /// The flow calls to this number walk.
    pub flow_id: Option<i64>,
    /// Free text.
    pub description: Option<String>,
    /// Inactive DIDs are neither routed nor rendered into the dialplan.
    pub active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = dids)]
pub struct NewDid<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Normalised number.
    pub number: &'a str,
    /// Flow.
    pub flow_id: Option<i64>,
    /// Free text.
    pub description: Option<&'a str>,
    /// Active flag.
    pub active: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = dids)]
pub struct DidChanges {
    /// New number.
    pub number: Option<String>,
    /// New flow (`Some(None)` unroutes the DID).
    pub flow_id: Option<Option<i64>>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct DidFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only DIDs routed to this flow.
    pub flow_id: Option<i64>,
    /// Only active or inactive DIDs.
    pub active: Option<bool>,
    /// Number contains.
    pub q: Option<String>,
}

impl DidFilter {
    fn query(&self) -> dids::BoxedQuery<'static, Backend> {
        let mut query = dids::table.into_boxed();
        if let Some(id) = self.call_center_id {
            query = query.filter(dids::call_center_id.eq(id));
        }
        if let Some(id) = self.flow_id {
            query = query.filter(dids::flow_id.eq(id));
        }
        if let Some(active) = self.active {
            query = query.filter(dids::active.eq(active));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query = query.filter(dids::number.like(contains_pattern(q)).escape('\\'));
        }
        query
    }
}

impl Did {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        dids::table.find(id).select(Self::as_select()).first(conn)
    }

    /// The active DID with exactly this number.
    pub fn active_by_number(conn: &mut DbConn, number: &str) -> QueryResult<Option<Self>> {
        dids::table
            .filter(dids::number.eq(number))
            .filter(dids::active.eq(true))
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &DidFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(dids::number.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Every active DID, by number (for the dialplan).
    pub fn all_active(conn: &mut DbConn) -> QueryResult<Vec<Self>> {
        dids::table
            .filter(dids::active.eq(true))
            .order(dids::number.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Numbers of the DIDs routed to `flow_id`.
    pub fn numbers_routed_to(conn: &mut DbConn, flow_id: i64) -> QueryResult<Vec<String>> {
        dids::table
            .filter(dids::flow_id.eq(flow_id))
            .order(dids::number.asc())
            .select(dids::number)
            .load(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewDid<'_>) -> QueryResult<Self> {
        diesel::insert_into(dids::table)
            .values(new)
            .returning(dids::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &DidChanges) -> QueryResult<Self> {
        diesel::update(dids::table.find(id))
            .set(changes)
            .returning(dids::all_columns)
            .get_result(conn)
    }

    /// Deletes.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(dids::table.find(id)).execute(conn)
    }
}
