//! Groups of users (agent teams) and their membership.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{PageRequest, contains_pattern, lower};
use crate::db::schema::{agent_group_members, agent_groups};
use crate::db::{Backend, DbConn};

/// A stored group.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = agent_groups)]
pub struct Group {
    /// Primary key.
    pub id: i64,
    /// Owning call center.
    pub call_center_id: i64,
    /// Name, unique within the center.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// Insert shape.
#[derive(Debug, Insertable)]
#[diesel(table_name = agent_groups)]
pub struct NewGroup<'a> {
    /// Owning call center.
    pub call_center_id: i64,
    /// Name.
    pub name: &'a str,
    /// Free text.
    pub description: Option<&'a str>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as creation time.
    pub updated_at: NaiveDateTime,
}

/// Update shape.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = agent_groups)]
pub struct GroupChanges {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Change time.
    pub updated_at: Option<NaiveDateTime>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct GroupFilter {
    /// Only this call center.
    pub call_center_id: Option<i64>,
    /// Name contains.
    pub q: Option<String>,
}

impl GroupFilter {
    fn query(&self) -> agent_groups::BoxedQuery<'static, Backend> {
        let mut query = agent_groups::table.into_boxed();
        if let Some(id) = self.call_center_id {
            query = query.filter(agent_groups::call_center_id.eq(id));
        }
        if let Some(q) = self.q.as_deref().filter(|q| !q.trim().is_empty()) {
            query = query.filter(
                lower(agent_groups::name)
                    .like(contains_pattern(q))
                    .escape('\\'),
            );
        }
        query
    }
}

impl Group {
    /// By id.
    pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Self> {
        agent_groups::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
    }

    /// One page plus the total count.
    pub fn list(
        conn: &mut DbConn,
        filter: &GroupFilter,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let total = filter.query().count().get_result(conn)?;
        let items = filter
            .query()
            .order(agent_groups::id.asc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)?;
        Ok((items, total))
    }

    /// Ids of a call center's groups (the queues its IVR flows may send callers to).
    pub fn ids_of_center(conn: &mut DbConn, call_center_id: i64) -> QueryResult<Vec<i64>> {
        agent_groups::table
            .filter(agent_groups::call_center_id.eq(call_center_id))
            .select(agent_groups::id)
            .load(conn)
    }

    /// Every group, by id (one Asterisk queue each).
    pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Self>> {
        agent_groups::table
            .order(agent_groups::id.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Inserts.
    pub fn create(conn: &mut DbConn, new: &NewGroup<'_>) -> QueryResult<Self> {
        diesel::insert_into(agent_groups::table)
            .values(new)
            .returning(agent_groups::all_columns)
            .get_result(conn)
    }

    /// Updates.
    pub fn update(conn: &mut DbConn, id: i64, changes: &GroupChanges) -> QueryResult<Self> {
        diesel::update(agent_groups::table.find(id))
            .set(changes)
            .returning(agent_groups::all_columns)
            .get_result(conn)
    }

    /// Deletes the group and its memberships.
    pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
        diesel::delete(agent_groups::table.find(id)).execute(conn)
    }

    /// Ids of the members, ascending.
    pub fn member_ids(conn: &mut DbConn, group_id: i64) -> QueryResult<Vec<i64>> {
        agent_group_members::table
            .filter(agent_group_members::group_id.eq(group_id))
            .order(agent_group_members::user_id.asc())
            .select(agent_group_members::user_id)
            .load(conn)
    }

    /// Whether `user_id` is a member.
    pub fn has_member(conn: &mut DbConn, group_id: i64, user_id: i64) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            agent_group_members::table.find((group_id, user_id)),
        ))
        .get_result(conn)
    }

    /// Adds a member.
    pub fn add_member(
        conn: &mut DbConn,
        group_id: i64,
        user_id: i64,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::insert_into(agent_group_members::table)
            .values((
                agent_group_members::group_id.eq(group_id),
                agent_group_members::user_id.eq(user_id),
                agent_group_members::created_at.eq(now),
            ))
            .execute(conn)
    }

    /// Removes a member; returns how many rows went (0 or 1).
    pub fn remove_member(conn: &mut DbConn, group_id: i64, user_id: i64) -> QueryResult<usize> {
        diesel::delete(agent_group_members::table.find((group_id, user_id))).execute(conn)
    }
}
