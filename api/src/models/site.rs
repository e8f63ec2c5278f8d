//! Sites: the physical locations of a call center (Paris, Lyon, ...).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{PageRequest, contains_pattern, lower};
use crate::db::schema::sites;
use crate::db::{Backend, DbConn};

/// A stored site.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sites)]
pub struct Site {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique within the center.
    pub name: String,
    /// Time zone when it differs from the center's.
    pub time_zone: Option<String>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = sites)]
pub struct NewSite<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Time zone override.
    pub time_zone: Option<&'a str>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = sites)]
pub struct SiteChanges {
    /// New name.
    pub name: Option<String>,
    /// New override (`Some(None)` clears it).
    pub time_zone: Option<Option<String>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct SiteFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains.
    pub q: Option<String>,
}

impl SiteFilter {
    fn query(&self) -> sites::BoxedQuery<'static, Backend> {
        let mut query = sites::table.into_boxed();
        if let Some(id) = self.call_center_id {
            query = query.filter(sites::call_center_id.eq(id));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query = query.filter(lower(sites::name).like(contains_pattern(q)).escape('\\'));
        }
        query
    }
}

impl Site {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        sites::table.find(id).select(Self::as_select()).first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &SiteFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(sites::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewSite<'_>) -> QueryResult<Self> {
        diesel::insert_into(sites::table)
            .values(new)
            .returning(sites::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &SiteChanges) -> QueryResult<Self> {
        diesel::update(sites::table.find(id))
            .set(changes)
            .returning(sites::all_columns)
            .get_result(conn)
    }

    /// Deletes (users of the site keep their account, without a site).
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(sites::table.find(id)).execute(conn)
    }
}
