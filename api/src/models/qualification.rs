//! Qualifications (call dispositions) and the groups a campaign picks them from.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageRequest;
use crate::db::schema::{qualification_groups, qualifications};
use crate::db::{Backend, DbConn};

/// A stored qualification group: the set of qualifications a campaign offers its agents.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = qualification_groups)]
pub struct QualificationGroup {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique in the call center.
    pub name: String,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape of a group.
#[derive(Debug, Insertable)]
#[diesel(table_name = qualification_groups)]
pub struct NewQualificationGroup<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape of a group.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = qualification_groups)]
pub struct QualificationGroupChanges {
    /// New name.
    pub name: Option<String>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// Group list filters.
#[derive(Debug, Default)]
pub struct QualificationGroupFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
}

impl QualificationGroupFilter {
    fn query(&self) -> qualification_groups::BoxedQuery<'static, Backend> {
        let mut query = qualification_groups::table.into_boxed();
        if let Some(v) = self.call_center_id {
            query = query.filter(qualification_groups::call_center_id.eq(v));
        }
        query
    }
}

impl QualificationGroup {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        qualification_groups::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &QualificationGroupFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(qualification_groups::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewQualificationGroup<'_>) -> QueryResult<Self> {
        diesel::insert_into(qualification_groups::table)
            .values(new)
            .returning(qualification_groups::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(
        conn: &mut DbConn,
        id: i64,
        changes: &QualificationGroupChanges,
    ) -> QueryResult<Self> {
        diesel::update(qualification_groups::table.find(id))
            .set(changes)
            .returning(qualification_groups::all_columns)
            .get_result(conn)
    }

    /// Deletes the group and its qualifications (call attempts that used them keep their row,
    /// without the link). Fails with a foreign-key violation while a campaign uses the group;
    /// run it in a transaction so that nothing is deleted then.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(qualifications::table.filter(qualifications::group_id.eq(id)))
            .execute(conn)?;
        diesel::delete(qualification_groups::table.find(id)).execute(conn)
    }
}

/// A stored qualification.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = qualifications)]
pub struct Qualification {
    /// Primary key.
    pub id: i64,
    /// Owning call center (the group's).
    pub call_center_id: i64,
    /// Group it belongs to.
    pub group_id: i64,
    /// Short code, unique in the group.
    pub code: String,
    /// What agents see.
    pub label: String,
    /// `positive`, `negative`, `neutral`, `callback`, `do_not_call` or `wrong_number`
    /// (`callpro_dialer::retry::QualificationKind`).
    pub kind: String,
    /// Whether the lead is done with after it.
    pub is_final: bool,
    /// Seconds before the next attempt when not final.
    pub retry_delay_secs: Option<i32>,
    /// No retry once the lead has had this many attempts.
    pub max_attempts: Option<i32>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape of a qualification.
#[derive(Debug, Insertable)]
#[diesel(table_name = qualifications)]
pub struct NewQualification<'a> {
    /// Owning call center (the group's).
    pub call_center_id: i64,
    /// Group.
    pub group_id: i64,
    /// Code.
    pub code: &'a str,
    /// Label.
    pub label: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// Final flag.
    pub is_final: bool,
    /// Retry delay.
    pub retry_delay_secs: Option<i32>,
    /// Attempt cap.
    pub max_attempts: Option<i32>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape of a qualification (the group never changes).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = qualifications)]
pub struct QualificationChanges {
    /// New code.
    pub code: Option<String>,
    /// New label.
    pub label: Option<String>,
    /// New kind.
    pub kind: Option<String>,
    /// New final flag.
    pub is_final: Option<bool>,
    /// New retry delay (`Some(None)` clears).
    pub retry_delay_secs: Option<Option<i32>>,
    /// New attempt cap (`Some(None)` clears).
    pub max_attempts: Option<Option<i32>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// Qualification list filters.
#[derive(Debug, Default)]
pub struct QualificationFilter {
    /// Only this group.
    pub group_id: Option<i64>,
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Only this kind.
    pub kind: Option<String>,
}

impl QualificationFilter {
    fn query(&self) -> qualifications::BoxedQuery<'static, Backend> {
        let mut query = qualifications::table.into_boxed();
        if let Some(v) = self.group_id {
            query = query.filter(qualifications::group_id.eq(v));
        }
        if let Some(v) = self.call_center_id {
            query = query.filter(qualifications::call_center_id.eq(v));
        }
        if let Some(v) = &self.kind {
            query = query.filter(qualifications::kind.eq(v.clone()));
        }
        query
    }
}

impl Qualification {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        qualifications::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &QualificationFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(qualifications::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Every qualification of a group, by id.
    pub fn of_group(conn: &mut DbConn, group_id: i64) -> QueryResult<Vec<Self>> {
        qualifications::table
            .filter(qualifications::group_id.eq(group_id))
            .order(qualifications::id.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewQualification<'_>) -> QueryResult<Self> {
        diesel::insert_into(qualifications::table)
            .values(new)
            .returning(qualifications::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &QualificationChanges) -> QueryResult<Self> {
        diesel::update(qualifications::table.find(id))
            .set(changes)
            .returning(qualifications::all_columns)
            .get_result(conn)
    }

    /// Deletes (call attempts that used it keep their row, without the link).
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(qualifications::table.find(id)).execute(conn)
    }
}
