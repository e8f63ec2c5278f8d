//! IVR flows: a draft definition per flow, and the immutable versions published from it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{PageRequest, contains_pattern, lower};
use crate::db::schema::{ivr_flow_versions, ivr_flows};
use crate::db::{Backend, DbConn};

/// A stored flow.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = ivr_flows)]
pub struct IvrFlow {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique within the center.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The draft, as canonical JSON text.
    pub definition: String,
    /// The version calls walk now (`None`: never published).
    pub published_version: Option<i32>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = ivr_flows)]
pub struct NewIvrFlow<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Free text.
    pub description: Option<&'a str>,
    /// The draft.
    pub definition: &'a str,
    /// Always `None` at creation.
    pub published_version: Option<i32>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = ivr_flows)]
pub struct IvrFlowChanges {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New draft.
    pub definition: Option<String>,
    /// New published version.
    pub published_version: Option<Option<i32>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct IvrFlowFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains.
    pub q: Option<String>,
    /// Only flows with (`true`) or without (`false`) a published version.
    pub published: Option<bool>,
}

impl IvrFlowFilter {
    fn query(&self) -> ivr_flows::BoxedQuery<'static, Backend> {
        let mut query = ivr_flows::table.into_boxed();
        if let Some(id) = self.call_center_id {
            query = query.filter(ivr_flows::call_center_id.eq(id));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query = query.filter(
                lower(ivr_flows::name)
                    .like(contains_pattern(q))
                    .escape('\\'),
            );
        }
        match self.published {
            Some(true) => query = query.filter(ivr_flows::published_version.is_not_null()),
            Some(false) => query = query.filter(ivr_flows::published_version.is_null()),
            None => {}
        }
        query
    }
}

/// A published version.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = ivr_flow_versions)]
pub struct FlowVersion {
    /// Primary key.
    pub id: i64,
    /// The flow.
    pub flow_id: i64,
    /// 1, 2, ... per flow.
    pub version: i32,
    /// The definition as published (canonical JSON text).
    pub definition: String,
    /// Who published it (`None` once that user is deleted).
    pub published_by: Option<i64>,
    /// When.
    pub published_at: NaiveDateTime,
}

/// Insert shape of a version (versions are never updated).
#[derive(Debug, Insertable)]
#[diesel(table_name = ivr_flow_versions)]
pub struct NewFlowVersion<'a> {
    /// The flow.
    pub flow_id: i64,
    /// Version number.
    pub version: i32,
    /// Definition.
    pub definition: &'a str,
    /// Publisher.
    pub published_by: Option<i64>,
    /// When.
    pub published_at: NaiveDateTime,
}

impl IvrFlow {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        ivr_flows::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &IvrFlowFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(ivr_flows::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Every flow of a call center.
    pub fn of_center(conn: &mut DbConn, call_center_id: i64) -> QueryResult<Vec<Self>> {
        ivr_flows::table
            .filter(ivr_flows::call_center_id.eq(call_center_id))
            .order(ivr_flows::id.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Ids of the center's flows that have a published version.
    pub fn published_ids(conn: &mut DbConn, call_center_id: i64) -> QueryResult<Vec<i64>> {
        ivr_flows::table
            .filter(ivr_flows::call_center_id.eq(call_center_id))
            .filter(ivr_flows::published_version.is_not_null())
            .select(ivr_flows::id)
            .load(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewIvrFlow<'_>) -> QueryResult<Self> {
        diesel::insert_into(ivr_flows::table)
            .values(new)
            .returning(ivr_flows::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &IvrFlowChanges) -> QueryResult<Self> {
        diesel::update(ivr_flows::table.find(id))
            .set(changes)
            .returning(ivr_flows::all_columns)
            .get_result(conn)
    }

    /// Deletes the flow and its versions.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(ivr_flows::table.find(id)).execute(conn)
    }
}

impl FlowVersion {
    /// Version `version` of `flow_id`.
    pub fn find(conn: &mut DbConn, flow_id: i64, version: i32) -> QueryResult<Self> {
        ivr_flow_versions::table
            .filter(ivr_flow_versions::flow_id.eq(flow_id))
            .filter(ivr_flow_versions::version.eq(version))
            .select(Self::as_select())
            .first(conn)
    }

    /// One page of a flow's versions, newest first, plus the total count.
    pub fn list(
        conn: &mut DbConn,
        flow_id: i64,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = ivr_flow_versions::table
            .filter(ivr_flow_versions::flow_id.eq(flow_id))
            .count()
            .get_result(conn)?;
        let items = ivr_flow_versions::table
            .filter(ivr_flow_versions::flow_id.eq(flow_id))
            .order(ivr_flow_versions::version.desc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// The highest version number of a flow (`None`: never published).
    pub fn latest_number(conn: &mut DbConn, flow_id: i64) -> QueryResult<Option<i32>> {
        ivr_flow_versions::table
            .filter(ivr_flow_versions::flow_id.eq(flow_id))
            .select(diesel::dsl::max(ivr_flow_versions::version))
            .first(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewFlowVersion<'_>) -> QueryResult<Self> {
        diesel::insert_into(ivr_flow_versions::table)
            .values(new)
            .returning(ivr_flow_versions::all_columns)
            .get_result(conn)
    }
}
