//! Call centers: the tenants.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{PageRequest, contains_pattern, lower};
use crate::db::schema::call_centers;
use crate::db::{Backend, DbConn};

/// A stored call center.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = call_centers)]
pub struct CallCenter {
    /// Primary key.
    pub id: i64,
    /// Unique display name.
    pub name: String,
    /// Default IANA time zone of the center.
    pub time_zone: String,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = call_centers)]
pub struct NewCallCenter<'a> {
    /// Name.
    pub name: &'a str,
    /// Time zone.
    pub time_zone: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = call_centers)]
pub struct CallCenterChanges {
    /// New name.
    pub name: Option<String>,
    /// New time zone.
    pub time_zone: Option<String>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct CallCenterFilter {
    /// Only this id (a tenant-bound caller sees only their own).
    pub only_id: Option<i64>,
    /// Name contains.
    pub q: Option<String>,
}

impl CallCenterFilter {
    fn query(&self) -> call_centers::BoxedQuery<'static, Backend> {
        let mut query = call_centers::table.into_boxed();
        if let Some(id) = self.only_id {
            query = query.filter(call_centers::id.eq(id));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query = query.filter(
                lower(call_centers::name)
                    .like(contains_pattern(q))
                    .escape('\\'),
            );
        }
        query
    }
}

impl CallCenter {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        call_centers::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &CallCenterFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(call_centers::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewCallCenter<'_>) -> QueryResult<Self> {
        diesel::insert_into(call_centers::table)
            .values(new)
            .returning(call_centers::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &CallCenterChanges) -> QueryResult<Self> {
        diesel::update(call_centers::table.find(id))
            .set(changes)
            .returning(call_centers::all_columns)
            .get_result(conn)
    }

    /// Deletes; fails with a foreign-key violation while sites, users or groups remain.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(call_centers::table.find(id)).execute(conn)
    }
}
